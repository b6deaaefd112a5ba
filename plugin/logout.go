package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

func newLogoutCmd(dockerCli command.Cli) *cobra.Command {
	return newCommand(dockerCli, nil, &cobra.Command{
		Use:   "logout [OPTIONS]",
		Short: "Remove the Charmhub credentials from Docker's credential store",
		Long: `Remove the Charmhub credentials that ` + "`docker charmcraft login`" + ` kept in Docker's
credential store under the Charmhub API host, as ` + "`docker logout`" + ` does for a
registry. Credentials in CHARMCRAFT_AUTH are not stored, so logout refuses to
run while it is set: unset it to stop using them.`,
		Example: `  docker charmcraft logout`,
	}, func(_ context.Context, env *cliEnv, _ []string) error {
		return runLogout(env)
	})
}

func runLogout(env *cliEnv) error {
	if strings.TrimSpace(env.getenv(authEnv)) != "" {
		return errors.New("cannot log out while " + authEnv + " is set: its credentials are not in Docker's credential store, and they are used as long as it is set; unset " + authEnv + " to stop using them, then run logout again to remove any stored ones")
	}
	host := apiHost(env.apiURL())
	store := env.dockerCli.ConfigFile().GetCredentialsStore(host)
	ac, err := store.Get(host)
	if err != nil {
		return fmt.Errorf("reading Docker's credential store for %s: %w", host, err)
	}
	out := env.dockerCli.Out()
	if ac.Password == "" && ac.IdentityToken == "" {
		_, err := fmt.Fprintf(out, "Not logged in to %s\n", host)
		return err
	}
	if err := store.Erase(host); err != nil {
		return fmt.Errorf("removing the Charmhub credentials for %s from Docker's credential store: %w", host, err)
	}
	_, err = fmt.Fprintf(out, "Removing login credentials for %s\n", host)
	return err
}
