// Package faultproxy is a loopback HTTP proxy that misbehaves on cue, for
// tests only: put it between a client and a real server, and script which
// requests it answers with an error, resets midway, cuts short, stalls,
// slows down, corrupts or answers with a wrong header. Everything else
// passes through unchanged, so the server on the other side sees what a
// client behind a bad network would send.
package faultproxy
