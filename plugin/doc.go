// Package plugin holds the cobra commands of `docker charmcraft`. Each file
// holds one command: an options struct, a constructor that only binds flags,
// and a runXxx function that does the work through the charmhub, registry
// and manifest packages.
package plugin
