package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/config"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/issuer"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/pass"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/rules"
	"github.com/outbreak-platform/outbreak/internal/server"
)

// openIssuer opens the store and the region's signing keys.
func openIssuer(ctx context.Context, cfg config.Config) (*db.DB, *issuer.Issuer, func(), error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, v, err := openStore(ctx, cfg, log, db.Options{})
	if err != nil {
		return nil, nil, nil, err
	}
	region, err := server.IssuingRegion(ctx, cfg, jurisdiction.NewStore(d))
	if err != nil {
		d.Close()
		return nil, nil, nil, err
	}
	loc := cfg.Loc()
	is := &issuer.Issuer{DB: d, Vault: v, Region: region, Now: func() time.Time { return time.Now().In(loc) }, TrustListMaxAge: cfg.TrustListMaxAge}
	if err := is.Ensure(ctx); err != nil {
		d.Close()
		return nil, nil, nil, err
	}
	return d, is, func() { d.Close() }, nil
}

func keysCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprintln(os.Stderr, "usage: outbreak keys rotate [--in DURATION] [--db DSN] [--key-file FILE]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage{errors.New("keys: want the subcommand rotate")}
	}
	fs := newFlags("keys rotate", "Put a new pass-signing key in force, now or --in a while. The new key is in the\n"+
		"trust list at once, so that checkpoints which renew their list before it signs\n"+
		"know it even offline; running servers sign with it within a minute of its time.\n"+
		"Passes signed with the old key stay valid until they expire: the old key stays\n"+
		"in the trust list until then. Only one rotation may wait at a time.")
	in := fs.Duration("in", 0, "how long from now the new key starts signing (0: at once; at most 720h). Give\ncheckpoints time to renew their trust list: a day or two")
	cfg, err := loadConfig(fs, args[1:])
	if err != nil {
		return err
	}
	if *in < 0 || *in > 720*time.Hour {
		return errUsage{fmt.Errorf("keys rotate: --in %s: want 0 to 720h", *in)}
	}
	_, is, done, err := openIssuer(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	at := is.Now().Add(*in)
	oldKID, newKID, err := is.Rotate(ctx, at)
	if err != nil {
		return err
	}
	return printJSON(map[string]string{"region": is.Region, "retired_kid": oldKID, "new_kid": newKID,
		"signs_from": at.UTC().Truncate(time.Second).Format(time.RFC3339)})
}

func passCmd(ctx context.Context, args []string) error {
	fs := newFlags("pass", "Print the current pass text of the K-th demo resident (refused on a store not marked as a demo).")
	k := fs.Int("demo-resident", 0, "K: the demo resident resident-K")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	if *k < 1 {
		return errUsage{errors.New("pass: --demo-resident K is required (K >= 1)")}
	}
	d, is, done, err := openIssuer(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	if v, _, err := d.Meta(ctx, account.DemoMetaKey); err != nil || v != "true" {
		return errors.New("pass: this store is not marked as a demo; demo passes are refused")
	}
	a, err := account.NewStore(d).GetByUsername(ctx, fmt.Sprintf("resident-%d", *k))
	if err != nil || !a.Demo || !a.ResidentID.Valid {
		return fmt.Errorf("pass: no demo resident resident-%d", *k)
	}
	v, _, err := vaultFor(cfg)
	if err != nil {
		return err
	}
	rs := resident.NewStore(d, v)
	who, err := rs.Get(ctx, jurisdiction.All, a.ResidentID.Int64)
	if err != nil {
		return err
	}
	codes, err := codeService(ctx, cfg, d, rs)
	if err != nil {
		return err
	}
	c, err := codes.Code(ctx, who.ID)
	if errors.Is(err, healthcode.ErrNoCode) {
		return fmt.Errorf("pass: resident-%d has no code yet: they must declare first", *k)
	}
	if err != nil {
		return err
	}
	text, _, err := is.Issue(who.ID, who.Name, pass.Colour(c.Colour))
	if err != nil {
		return err
	}
	fmt.Println(text)
	return nil
}

func codeService(ctx context.Context, cfg config.Config, d *db.DB, rs resident.Store) (*healthcode.Service, error) {
	set, err := healthcode.LoadRules(ctx, d)
	if err != nil {
		return nil, err
	}
	active, err := rules.NewActive(set)
	if err != nil {
		return nil, err
	}
	loc := cfg.Loc()
	return &healthcode.Service{DB: d, Store: healthcode.NewStore(d), Residents: rs, Jurisdictions: jurisdiction.NewStore(d),
		Log: slog.New(slog.NewTextHandler(os.Stderr, nil)), Rules: active, Now: func() time.Time { return time.Now().In(loc) }}, nil
}

// errInvalidPass makes `outbreak verify` exit non-zero.
var errInvalidPass = errors.New("the pass is not valid")

func verifyCmd(ctx context.Context, args []string) error {
	fs := newFlags("verify", "Verify a pass offline against a trust list and print JSON: colour, masked name and expiry,\nor the reason it failed (bad_signature, unknown_key, expired, malformed, wrong_region,\ntrust_list_expired: the trust list is past its expiry and vouches for nothing).\nExit status 0 when valid, 1 when not.\n\nusage: outbreak verify [flags] PAYLOAD")
	list := fs.String("trust-list", "", "trust list FILE or http(s) URL (default: this store's own)")
	root := fs.String("root-key", "", "the trust list's root public key, base64url (default: from the store, or URL/root)")
	region := fs.String("region", "", "the region the pass must come from (default: any in the trust list)")
	cfg := config.Default()
	if err := cfg.FromEnv(os.Getenv); err != nil {
		return err
	}
	fs.StringVar(&cfg.DB, "db", cfg.DB, "store, when no --trust-list is given")
	fs.StringVar(&cfg.KeyFile, "key-file", cfg.KeyFile, "master key, when no --trust-list is given")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage{err}
	}
	if fs.NArg() != 1 {
		return errUsage{errors.New("verify: give exactly one PAYLOAD (the pass text)")}
	}
	payload := strings.TrimSpace(fs.Arg(0))
	var doc []byte
	var rootPub ed25519.PublicKey
	var err error
	switch {
	case *list == "":
		_, is, done, err := openIssuer(ctx, cfg)
		if err != nil {
			return err
		}
		defer done()
		if doc, err = is.TrustList(ctx); err != nil {
			return err
		}
		rootPub = is.RootPublicKey()
	case strings.HasPrefix(*list, "http://") || strings.HasPrefix(*list, "https://"):
		u, err := url.Parse(*list)
		if err != nil {
			return errUsage{fmt.Errorf("verify: --trust-list: %w", err)}
		}
		listURL := *u
		if listURL.RawQuery == "" {
			listURL.RawQuery = "version=2" // the version that states its expiry
		}
		if doc, err = fetch(ctx, listURL.String()); err != nil {
			return err
		}
		if *root == "" {
			var r struct {
				PublicKey string `json:"public_key"`
			}
			rootURL := *u
			rootURL.Path, rootURL.RawPath, rootURL.RawQuery = strings.TrimSuffix(u.Path, "/")+"/root", "", ""
			b, err := fetch(ctx, rootURL.String())
			if err != nil {
				return err
			}
			if err := json.Unmarshal(b, &r); err != nil {
				return fmt.Errorf("verify: root key: %w", err)
			}
			*root = r.PublicKey
		}
	default:
		if doc, err = os.ReadFile(*list); err != nil {
			return err
		}
	}
	if rootPub == nil {
		if *root == "" {
			return errUsage{errors.New("verify: --root-key is required with a trust-list file")}
		}
		b, err := base64.RawURLEncoding.DecodeString(*root)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return errUsage{errors.New("verify: --root-key must be the base64url of a 32-byte Ed25519 key")}
		}
		rootPub = b
	}
	tl, err := pass.ParseTrustList(doc, rootPub)
	if err != nil {
		return err
	}
	res, err := tl.Verify(payload, time.Now(), *region)
	if err != nil {
		printJSON(map[string]any{"valid": false, "reason": pass.ReasonOf(err), "detail": err.Error()})
		return errInvalidPass
	}
	return printJSON(map[string]any{"valid": true, "colour": res.Colour, "masked_name": res.MaskedName, "region": res.Region,
		"issued_at": res.IssuedAt, "expires": res.Expires, "kid": base64.RawURLEncoding.EncodeToString(res.KeyID)})
}

func fetch(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("verify: fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("verify: fetch %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, pass.MaxTrustListLen+1))
}
