package plugin

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
)

// cancelOnSignal ends cmd's context at the first SIGINT or SIGTERM: run
// directly, or through docker on a terminal (the kernel then signals the
// plugin itself), Ctrl-C stops the work under way cleanly. Through docker
// otherwise, the docker CLI says so through the plugin socket instead,
// which plugin.PersistentPreRunE turns into the same cancellation. A
// second signal ends the process at once.
func cancelOnSignal(cmd *cobra.Command) {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	cmd.SetContext(ctx)
}

// errCancelled is what a command stopped midway by the user says, in
// place of the error of whatever call it interrupted. The exit status is
// the shell's for Ctrl-C.
var errCancelled = cli.StatusError{StatusCode: 130, Status: "cancelled"}
