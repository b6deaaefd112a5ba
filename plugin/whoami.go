package plugin

import (
	"context"
	"errors"
	"strings"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

type whoamiOptions struct {
	format string
}

func newWhoamiCmd(dockerCli command.Cli) *cobra.Command {
	var opts whoamiOptions
	cmd := newCommand(dockerCli, nil, &cobra.Command{
		Use:   "whoami [OPTIONS]",
		Short: "Show the Charmhub account the credentials belong to",
		Long: `Show the Charmhub account the credentials belong to (from CHARMCRAFT_AUTH, else
Docker's credential store) and what they may do: its name, username, id,
permissions, and the charms and channels they are restricted to, if any.`,
		Example: `  docker charmcraft whoami
  docker charmcraft whoami --format=json`,
	}, func(ctx context.Context, env *cliEnv, _ []string) error {
		return runWhoami(ctx, env, opts)
	})
	addFormatFlag(cmd, &opts.format)
	return cmd
}

func runWhoami(ctx context.Context, env *cliEnv, opts whoamiOptions) error {
	out := env.dockerCli.Out()
	ch, err := env.queryClient(opts.format)
	if errors.Is(err, errNoCredentials) {
		return printResult(out, opts.format, map[string]bool{"logged": false}, printLine("You are not logged in to Charmhub."))
	}
	if err != nil {
		return err
	}
	who, err := ch.Whoami(ctx)
	if err != nil {
		return explainLogin(err)
	}
	info, lines := describeAccount(who)
	return printResult(out, opts.format, info, printLine(strings.Join(lines, "\n")))
}

// account is what charmcraft's whoami shows, in its order.
type account struct {
	Logged      bool         `json:"logged"`
	Name        string       `json:"name"`
	Username    string       `json:"username"`
	ID          string       `json:"id"`
	Permissions []string     `json:"permissions,omitempty"`
	Charms      []packageRef `json:"charms,omitempty"`
	Bundles     []packageRef `json:"bundles,omitempty"`
	Channels    []string     `json:"channels,omitempty"`
}

// packageRef names a package the credentials are restricted to.
type packageRef struct {
	Name string `json:"name,omitempty"`
	ID   string `json:"id,omitempty"`
}

func (p packageRef) String() string {
	if p.Name != "" {
		return "name: " + p.Name
	}
	return "id: " + p.ID
}

// describeAccount is what charmcraft's whoami shows, as JSON and as lines
// of text.
func describeAccount(w *charmhub.Whoami) (account, []string) {
	a := account{
		Logged: true, Name: w.Account.DisplayName, Username: w.Account.Username, ID: w.Account.ID,
		Permissions: w.Permissions, Channels: w.Channels,
	}
	for _, p := range w.Packages {
		ref := packageRef{Name: p.Name}
		if p.Name == "" {
			ref.ID = p.ID
		}
		switch {
		case ref == packageRef{}:
		case p.Type == "charm":
			a.Charms = append(a.Charms, ref)
		case p.Type == "bundle":
			a.Bundles = append(a.Bundles, ref)
		}
	}
	lines := []string{"name: " + a.Name, "username: " + a.Username, "id: " + a.ID}
	section := func(title string, items []string) {
		if len(items) > 0 {
			lines = append(lines, title+":")
			for _, it := range items {
				lines = append(lines, "- "+it)
			}
		}
	}
	section("permissions", a.Permissions)
	section("charms", refs(a.Charms))
	section("bundles", refs(a.Bundles))
	section("channels", a.Channels)
	return a, lines
}

func refs(ps []packageRef) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
