package main

import (
	"context"
	"fmt"
	"net"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/config"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/server"
)

func serveCmd(ctx context.Context, args []string) error {
	fs := newFlags("serve", "Run the web server: pages, API, /healthz, /readyz and /metrics.\nSettings also come from OUTBREAK_* environment variables (see README).")
	var addr string
	fs.StringVar(&addr, "addr", "", "listen address HOST:PORT (env OUTBREAK_ADDR, default "+config.Default().Addr+")")
	cfg, err := loadConfig(fs, args)
	if addr != "" {
		cfg.Addr = addr
		if err == nil {
			err = cfg.Validate()
		}
	}
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	reg := server.NewRegistry()
	d, v, err := openStore(ctx, cfg, log, db.Options{Registerer: reg})
	if err != nil {
		return err
	}
	defer func() {
		if err := d.Close(); err != nil {
			log.Error("close store", "err", err)
		} else {
			log.Info("store closed")
		}
	}()
	s, err := server.New(ctx, cfg, log, d, v, reg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	isDemo, _, _ := d.Meta(ctx, account.DemoMetaKey)
	log.Info("listening", "url", "http://"+ln.Addr().String()+"/", "store", d.Dialect.String(), "demo", isDemo == "true")
	fmt.Printf("\noutbreak is running: open http://%s/\n", ln.Addr())
	if isDemo == "true" {
		printDemoLogins(ctx, d)
	}
	return s.Serve(ctx, ln)
}
