package plugin

import "strings"

// pluginName is the name docker knows the plugin by: `docker charmcraft`.
const pluginName = "charmcraft"

// globalFlagsWithValue are the docker CLI's global flags that take a value
// as the next argument.
var globalFlagsWithValue = map[string]bool{
	"--config": true, "-c": true, "--context": true, "-H": true, "--host": true,
	"-l": true, "--log-level": true, "--tlscacert": true, "--tlscert": true, "--tlskey": true,
}

// StandaloneArgs makes the arguments of a direct run
// (`docker-charmcraft upload-resource ...`) look like those docker passes
// (`docker-charmcraft charmcraft upload-resource ...`): plugin.Run expects
// the plugin's name as the first argument that is not a global flag.
func StandaloneArgs(args []string) []string {
	if len(args) == 0 {
		return args
	}
	i := 1
	for i < len(args) {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		if globalFlagsWithValue[a] {
			i++
		}
		i++
	}
	if i < len(args) && args[i] == pluginName {
		return args
	}
	out := make([]string, 0, len(args)+1)
	out = append(out, args[:min(i, len(args))]...)
	out = append(out, pluginName)
	return append(out, args[min(i, len(args)):]...)
}
