// Package transport is the HTTP stack under every client of the plugin.
// New is Go's default transport with every wait bounded: dialing, the TLS
// handshake and the wait for an answer's headers have limits, and so has
// any silence on an open connection; a long upload or download has none,
// as long as its bytes keep moving. Stack wraps it in the layers each
// client sends through: the retries of a Policy (the one place that
// decides, with Policy.Temporary, which failures may pass), the debug
// log with its one redaction rule, and the User-Agent.
package transport
