//go:build !unix

package sqlite

import "io/fs"

// sameOwner does nothing where files have no Unix owner and group.
func sameOwner(string, fs.FileInfo) {}
