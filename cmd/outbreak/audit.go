package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/config"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

// errChainBroken makes `outbreak audit verify` exit non-zero.
var errChainBroken = errors.New("the audit chain is broken")

const auditUsage = `usage: outbreak audit verify [--db DSN] [--key-file FILE | --verifier-key KEY] [--heads FILE|URL]...
       outbreak audit key [--key-file FILE]`

func auditCmd(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "verify":
			return auditVerify(ctx, args[1:])
		case "key":
			return auditKey(args[1:])
		case "-h", "--help", "help":
			fmt.Println(auditUsage)
			return nil
		}
	}
	fmt.Fprintln(os.Stderr, auditUsage)
	return errUsage{errors.New("audit: want the subcommand verify or key")}
}

// headKeyFrom derives the head key from the master key in cfg.KeyFile,
// which must exist: verifying never creates a key.
func headKeyFrom(cfg config.Config) (*audit.HeadKey, error) {
	if _, err := os.Stat(cfg.KeyFile); err != nil {
		return nil, fmt.Errorf("audit: the master key file: %w (give --key-file, or --verifier-key with the key the server publishes)", err)
	}
	v, _, err := vault.LoadOrCreate(cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	return audit.NewHeadKey(v.Derive(audit.KeyPurpose, 32))
}

func auditKey(args []string) error {
	fs := newFlags("audit key", "Print the key that verifies the audit chain's signed heads (as GET /api/v1/audit/key does),\nderived from the master key; give it to whoever checks the chain with --verifier-key.")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	k, err := headKeyFrom(cfg)
	if err != nil {
		return err
	}
	fmt.Println(k.Verifier())
	return nil
}

// headsFlag collects --heads, which may be given more than once.
type headsFlag []string

func (h *headsFlag) String() string     { return strings.Join(*h, ",") }
func (h *headsFlag) Set(s string) error { *h = append(*h, s); return nil }

func auditVerify(ctx context.Context, args []string) error {
	fs := newFlags("audit verify", `Walk the hash-chained audit log, report the first broken link, if any, and check
that the chain extends every signed head stored with it and every head given with
--heads: a file or URL holding a signed head (GET /api/v1/audit/head) or a page of
them (GET /api/v1/audit/heads, whose further pages are followed), kept elsewhere.
Heads are verified with --verifier-key, or with the key derived from the master key.
Exit status 0 when the chain is intact and extends every head, 1 otherwise.`)
	var heads headsFlag
	var vkey string
	fs.Var(&heads, "heads", "a FILE or URL of signed heads seen elsewhere (repeatable)")
	fs.StringVar(&vkey, "verifier-key", "", "the key the heads are signed with (outbreak audit key; GET /api/v1/audit/key)")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	var key *audit.HeadKey
	if vkey != "" {
		key, err = audit.VerifierKey(vkey)
	} else {
		key, err = headKeyFrom(cfg)
	}
	if err != nil {
		return err
	}
	var given []audit.Head
	for _, src := range heads {
		hs, err := readHeads(ctx, key, src)
		if err != nil {
			return err
		}
		given = append(given, hs...)
	}
	d, err := db.Open(ctx, cfg.DB, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		return err
	}
	l := &audit.HeadLog{DB: d, Key: key}
	rep, err := l.Check(ctx, nil, given...)
	if err != nil {
		return err
	}
	// The entries that commit to a tracing run's contacts, against the rows.
	contacts, err := healthcode.VerifyContacts(ctx, d)
	if err != nil {
		return err
	}
	out := struct {
		audit.Report
		Contacts healthcode.ContactsReport `json:"contacts"`
	}{rep, contacts}
	if err := printJSON(out); err != nil {
		return err
	}
	switch {
	case !rep.OK:
		return fmt.Errorf("%w: %s", errChainBroken, rep.Problem)
	case !contacts.OK:
		return fmt.Errorf("%w: %s", errChainBroken, contacts.Problem)
	}
	return nil
}

// maxHeadsPage bounds what is read from one file or page of heads.
const maxHeadsPage = 16 << 20

// readHeads reads the signed heads at src (a file or an http(s) URL),
// each opened with key: one signed note, or a JSON page of them whose
// further pages are fetched when src is a URL.
func readHeads(ctx context.Context, key *audit.HeadKey, src string) ([]audit.Head, error) {
	isURL := strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")
	var out []audit.Head
	for page := 0; page < 100000; page++ {
		var b []byte
		var err error
		if isURL {
			b, err = fetchHeads(ctx, src)
		} else {
			b, err = os.ReadFile(src)
		}
		if err != nil {
			return nil, fmt.Errorf("audit: heads %s: %w", src, err)
		}
		if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
			h, err := key.Open(b)
			if err != nil {
				return nil, fmt.Errorf("audit: heads %s: %w", src, err)
			}
			return append(out, h), nil
		}
		var pg struct {
			Heads []struct {
				Note string `json:"note"`
			} `json:"heads"`
			Next int64 `json:"next"`
		}
		if err := json.Unmarshal(b, &pg); err != nil {
			return nil, fmt.Errorf("audit: heads %s: %w", src, err)
		}
		for _, n := range pg.Heads {
			h, err := key.Open([]byte(n.Note))
			if err != nil {
				return nil, fmt.Errorf("audit: heads %s: %w", src, err)
			}
			out = append(out, h)
		}
		if !isURL || pg.Next == 0 {
			return out, nil
		}
		u, err := url.Parse(src)
		if err != nil {
			return nil, err
		}
		q := u.Query()
		q.Set("after", strconv.FormatInt(pg.Next, 10))
		u.RawQuery = q.Encode()
		src = u.String()
	}
	return nil, fmt.Errorf("audit: heads %s: too many pages", src)
}

func fetchHeads(ctx context.Context, src string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch: %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxHeadsPage+1))
	if len(b) > maxHeadsPage {
		return nil, fmt.Errorf("fetch: more than %d bytes", maxHeadsPage)
	}
	return b, err
}
