// Command outbreak is the whole platform in one binary: the server, the
// demo generator, migrations and benchmarks, each a subcommand.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones without the system database: air-gapped hosts
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := realMain(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "outbreak:", err)
		os.Exit(exitCode(err))
	}
}
