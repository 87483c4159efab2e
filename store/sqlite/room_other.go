//go:build !(linux || darwin)

package sqlite

// roomOf knows nothing of a file's room where the store does not ask the
// system: storageErr then names the files only.
func roomOf(string) room { return room{} }

// errNoSpace and errTooLarge are never found where roomOf knows nothing.
var errNoSpace, errTooLarge error
