//go:build !unix

package sqlite

// syncDir does nothing where directories cannot be opened for a sync
// (Windows): the file system keeps a new file's name as it does.
func syncDir(string) error { return nil }
