// Command rlnd is an RLN rate-limited relay node and toolkit that speaks the
// Waku v2 protocols. Run `rlnd --help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rlnd/rlnd/config"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	// exitUsage is for invalid input: bad arguments, flags, topics or
	// configuration values.
	exitUsage = 2
)

// usageError marks an error caused by the user's input (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	// Only the real process takes the libraries' process-wide loggers: the
	// tests run many commands in one process, in parallel.
	libraryLogs = routeLibraryLogs
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status. Errors are
// printed as one line on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env []string) int {
	cmd := newRootCmd(env)
	// nwaku's --name:value form of the configuration flags, as pflag's
	// --name=value.
	cmd.SetArgs(config.NwakuArgs(args))
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "rlnd: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitError
}
