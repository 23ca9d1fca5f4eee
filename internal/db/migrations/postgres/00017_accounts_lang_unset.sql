-- +goose Up
-- Demo accounts were made with the language 'zh', so that a demo opened in
-- an English browser read Chinese. An account's language is now unset ('')
-- until the person's first sign-in, which takes the browser's
-- (account.Service.AdoptLang); the demo's accounts start unset, as new
-- staff accounts do.
UPDATE accounts SET lang = '' WHERE demo;

-- +goose Down
UPDATE accounts SET lang = 'zh' WHERE demo AND lang = '';
