// Package plugin holds the cobra commands of `docker charmcraft` and their
// glue to the docker CLI. Each command has its file, named after it
// (login.go, logout.go, whoami.go, resources.go, resource_revisions.go,
// set_resource_architectures.go, upload_resource.go, with upload_image.go
// for its --image half): an options struct, a constructor that only binds
// flags, and a runXxx function that does the work through the charmhub,
// imagepush, registry and dockersave packages. newCommand (command.go)
// makes each the same way, and root.go assembles them.
//
// What the commands share has one file each: env.go (every environment
// variable and default), errors.go (the sentences errors become),
// credentials.go and netpolicy.go (stored credentials, endpoints allowed),
// output.go, table.go, progress.go, prompt.go and quote.go (what is printed
// and asked), completion.go (shared flags), arch.go and imageref.go
// (checking --arch and --image), compressor.go (the layer compressor of
// the build), cancel.go and standalone.go (signals, running outside
// docker).
package plugin
