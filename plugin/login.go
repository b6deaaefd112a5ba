package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/completion"
	"github.com/docker/cli/cli/config/types"
	"github.com/spf13/cobra"
)

type loginOptions struct {
	withCredentials string
}

func newLoginCmd(dockerCli command.Cli) *cobra.Command {
	var opts loginOptions
	cmd := newCommand(dockerCli, nil, &cobra.Command{
		Use:   "login [OPTIONS]",
		Short: "Log in to Charmhub and keep the credentials in Docker's credential store",
		Long: `Log in to Charmhub with your Ubuntu One account, as charmcraft does: the
email address, the password (not echoed) and, when the account asks for
one, the one-time password are read from stdin. Or import credentials
that ` + "`charmcraft login --export=FILE`" + ` wrote, with --with-credentials FILE
(or - to read them from stdin).

The credentials are kept in Docker's credential store (your credsStore or
credHelpers, else config.json) under the Charmhub API host, as ` + "`docker login`" + `
keeps a registry's; the other commands find them there. CHARMCRAFT_AUTH,
when set, wins over them, so login refuses to run while it is set.`,
		Example: `  docker charmcraft login
  docker charmcraft login --with-credentials ./charmhub-credentials
  docker charmcraft login --with-credentials - < ./charmhub-credentials`,
	}, func(ctx context.Context, env *cliEnv, _ []string) error {
		return runLogin(ctx, env, opts)
	})
	// The backquoted word of a flag's help is its value's name.
	cmd.Flags().StringVar(&opts.withCredentials, "with-credentials", "", "Import the credentials that 'charmcraft login --export' wrote, from `FILE` (- for stdin)")
	_ = cmd.RegisterFlagCompletionFunc("with-credentials", completion.FileNames())
	return cmd
}

func runLogin(ctx context.Context, env *cliEnv, opts loginOptions) error {
	if strings.TrimSpace(env.getenv(authEnv)) != "" {
		return errors.New("cannot log in while " + authEnv + " is set: its credentials win over those a login stores; unset " + authEnv + " to log in, or keep using it without logging in")
	}
	var token string
	var err error
	if opts.withCredentials != "" {
		token, err = readExported(env, opts.withCredentials)
	} else {
		token, err = loginInteractively(ctx, env)
	}
	if err != nil {
		return err
	}
	ch, err := env.charmhubClient(token)
	if err != nil {
		return err
	}
	who, err := ch.Whoami(ctx)
	if err != nil {
		return explainLogin(err)
	}
	host := apiHost(env.apiURL())
	store := env.dockerCli.ConfigFile().GetCredentialsStore(host)
	if err := store.Store(types.AuthConfig{ServerAddress: host, Username: who.Account.Username, Password: token}); err != nil {
		return fmt.Errorf("storing the Charmhub credentials for %s in Docker's credential store: %w", host, err)
	}
	_, err = fmt.Fprintf(env.dockerCli.Out(), "Logged in to %s as '%s'\nLogin Succeeded\n", host, who.Account.Username)
	return err
}

// readExported reads what `charmcraft login --export` wrote, from a file
// or from stdin ("-").
func readExported(env *cliEnv, path string) (string, error) {
	const limit = 1 << 20
	var r io.Reader
	source := "--with-credentials " + quotePath(path)
	if path == "-" {
		r, source = env.dockerCli.In(), "the credentials read from stdin"
	} else {
		if err := checkReadableFile("--with-credentials", path); err != nil {
			return "", err
		}
		f, err := os.Open(path) //nolint:gosec // the user names the file to read
		if err != nil {
			return "", fmt.Errorf("--with-credentials %s: %w", quotePath(path), errors.Unwrap(err))
		}
		defer func() { _ = f.Close() }()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("reading %s: %w", source, err)
	case len(data) > limit:
		return "", fmt.Errorf("%s is larger than exported credentials can be", source)
	}
	token, err := charmhub.DecodeCredentials(source, string(data))
	if err != nil {
		return "", explainExported(err, source)
	}
	return token, nil
}

// loginInteractively asks for the Ubuntu One email address, password and,
// when needed, one-time password, and logs in with them.
func loginInteractively(ctx context.Context, env *cliEnv) (string, error) {
	p := newPrompter(env.dockerCli.In(), env.stderr())
	email, err := p.ask(ctx, "Email address: ")
	if err != nil {
		return "", fmt.Errorf("reading the email address: %w", err)
	}
	if email == "" {
		return "", errors.New("an email address is required to log in")
	}
	password, err := p.askSecret(ctx, "Password: ")
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if password == "" {
		return "", errors.New("a password is required to log in")
	}
	ch, err := env.charmhubClient("")
	if err != nil {
		return "", err
	}
	token, err := ch.Login(ctx, charmhub.LoginRequest{
		Email: email, Password: password,
		OTP:         func(ctx context.Context) (string, error) { return askOTP(ctx, p) },
		Description: clientDescription(),
	})
	if err != nil {
		return "", explainLogin(err)
	}
	return token, nil
}

func askOTP(ctx context.Context, p *prompter) (string, error) {
	otp, err := p.ask(ctx, "One-time password: ")
	if err != nil {
		return "", fmt.Errorf("reading the one-time password: %w", err)
	}
	return otp, nil
}

// clientDescription names this client in the account's list of tokens,
// as charmcraft does ("<tool>@<host>").
func clientDescription() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return "docker-charmcraft@" + host
}
