package plugin

import (
	"context"
	"errors"
	"strings"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// runFunc is what a command does, given its positional arguments and
// the environment of the run.
type runFunc func(ctx context.Context, env *cliEnv, args []string) error

// newCommand makes a command the one way all of them are made, from
// help, a cobra command holding only Use, Short, Long and Example: it
// takes exactly the positional arguments names holds (CHARM, RESOURCE...,
// as Use shows them), which are names on Charmhub, never completed as
// files unless help says how to complete them, and runs run with them; a
// run the user cancelled fails with errCancelled.
func newCommand(dockerCli command.Cli, names []string, help *cobra.Command, run runFunc) *cobra.Command {
	help.Args = exactArgs(names...)
	if help.ValidArgsFunction == nil {
		help.ValidArgsFunction = completeCharmArgs(dockerCli, names, nil)
	}
	help.RunE = func(cmd *cobra.Command, args []string) error {
		env := newEnv(cmd, dockerCli)
		err := run(cmd.Context(), env, args)
		if err != nil && cmd.Context().Err() != nil {
			err = errCancelled
		}
		if ce, ok := errors.AsType[*credentialsError](err); ok {
			ce.fromEnv = strings.TrimSpace(env.getenv(authEnv)) != ""
		}
		err = env.plain(err)
		if f := cmd.Flags().Lookup("format"); err != nil && f != nil && f.Value.String() == "json" && !env.reported {
			reportJSON(env.dockerCli.Out(), err)
		}
		return err
	}
	return help
}
