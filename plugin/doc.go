// Package plugin holds the cobra commands of `docker charmcraft`. Each
// command has its file: an options struct, a constructor that only binds
// flags, and a runXxx function that does the work through the charmhub,
// registry and manifest packages. What the commands share has one file
// each: env.go (every environment variable and default), errors.go (the
// sentences errors become), output.go, progress.go, completion.go.
package plugin
