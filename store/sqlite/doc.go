// Package sqlite is a [store.Store] in one SQLite file.
package sqlite
