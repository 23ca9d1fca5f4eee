package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"golang.org/x/term"

	"github.com/outbreak-platform/outbreak/internal/config"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":   {"run the platform's web server", serveCmd},
		"demo":    {"fill an empty store with the synthetic demo region", demoCmd},
		"migrate": {"apply the store's schema migrations", migrateCmd},
		"bench":   {"measure performance targets and print JSON", benchCmd},
		"audit":   {"verify the hash-chained audit log", auditCmd},
		"keys":    {"rotate the pass-signing key", keysCmd},
		"pass":    {"print a demo resident's current pass text", passCmd},
		"verify":  {"verify a pass offline against a trust list", verifyCmd},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: outbreak COMMAND [flags]   (outbreak COMMAND --help for its flags)")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
}

// errUsage marks a command-line mistake (exit code 2).
type errUsage struct{ error }

func exitCode(err error) int {
	var u errUsage
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

func realMain(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(os.Stdout)
		if len(args) == 0 {
			return errUsage{errors.New("no command given")}
		}
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		usage(os.Stderr)
		return errUsage{fmt.Errorf("unknown command %q", args[0])}
	}
	err := c.run(ctx, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: outbreak %s [flags]\n\n%s\n\nflags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage{err}
	}
	if fs.NArg() > 0 {
		return errUsage{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}

// loadConfig reads defaults, then the environment, then the flags given.
func loadConfig(fs *flag.FlagSet, args []string) (config.Config, error) {
	cfg := config.Default()
	if err := cfg.FromEnv(os.Getenv); err != nil {
		return cfg, err
	}
	fs.StringVar(&cfg.DB, "db", cfg.DB, "store: sqlite:PATH or postgres://URL (env OUTBREAK_DB)")
	fs.StringVar(&cfg.KeyFile, "key-file", cfg.KeyFile, "master key for personal data, created if missing (env OUTBREAK_KEY_FILE)")
	if err := parse(fs, args); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func newLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.LogFormat
	if format == "auto" {
		format = "json"
		if term.IsTerminal(int(os.Stderr.Fd())) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// openStore opens and migrates the store and loads the master key, checking
// that the key is the one the store's personal data were sealed with.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger, opts db.Options) (*db.DB, *vault.Vault, error) {
	d, err := db.Open(ctx, cfg.DB, opts)
	if err != nil {
		return nil, nil, err
	}
	applied, err := d.Migrate(ctx)
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	if len(applied) > 0 {
		log.Info("applied migrations", "versions", applied, "store", d.Dialect.String())
	}
	v, created, err := vaultFor(cfg)
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	if created {
		log.Warn("created a new master key: back it up; without it personal data cannot be read", "file", cfg.KeyFile)
	}
	check, ok, err := d.Meta(ctx, "key_check")
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	switch {
	case !ok:
		err = db.SetMeta(ctx, d.W, "key_check", v.CheckValue())
	case check != v.CheckValue():
		err = fmt.Errorf("the key file %s is not the key this store's personal data were sealed with", cfg.KeyFile)
	}
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	return d, v, nil
}

func vaultFor(cfg config.Config) (*vault.Vault, bool, error) { return vault.LoadOrCreate(cfg.KeyFile) }
