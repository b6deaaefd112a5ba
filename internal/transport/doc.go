// Package transport builds the HTTP transport under every client of the
// plugin: Go's default one, with every wait bounded. Dialing, the TLS
// handshake and the wait for an answer's headers have limits, and so has
// any silence on an open connection; a long upload or download has none,
// as long as its bytes keep moving.
package transport
