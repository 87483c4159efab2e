// Command releasecheck checks that the published modules of the repository
// resolve outside it, as a stranger's `go get` resolves them.
//
//	releasecheck [-version vX.Y.Z] [-tidy] [-keep]
//
// It reads the go.mod of every published module (see package repo) and
// fails when one carries a replace directive or requires another module of
// the repository at anything but a release version, or when go.work does not
// serve every such requirement from the work tree. It then publishes every
// module at the release version to a module proxy in a temporary directory
// (the file layout of GOPROXY=file://…), and, with GOWORK=off and that proxy
// in front of the machine's own:
//
//   - runs `go mod tidy` in a copy of each module as the proxy serves it and
//     fails when go.mod or go.sum would change (lines for the repository's
//     own modules aside: they exist only once a version is tagged), then
//     `go vet ./...`, which compiles every package and test of the module
//     from its go.mod alone;
//   - builds and runs a program outside the repository that requires every
//     module at the release version, imports each of their library packages,
//     and checks that its build links those versions, unreplaced.
//
// The release version is -version, or else the version the other modules
// require of the root module. -tidy writes the tidied go.mod and go.sum back
// into the repository instead of failing; it keeps the lines go.sum has for
// the repository's own modules. -keep leaves the temporary directory in place
// and prints its path.
//
// Checksums of the repository's own modules are not looked up (GONOSUMDB);
// everything else comes from the machine's module proxy and checksum
// database as usual, through the local module cache when it has them. The
// proxy's modules go into a module cache of their own, removed at the end,
// so the machine's cache never holds an untagged version.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"campaignconnector/ci/tools/internal/repo"
)

func main() {
	version := flag.String("version", "", "release version to publish (default: the version the other modules require of the root module)")
	tidy := flag.Bool("tidy", false, "write the tidied go.mod and go.sum of each module back instead of failing")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	flag.Parse()
	if err := run(*version, *tidy, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "releasecheck:", err)
		os.Exit(1)
	}
}

func run(version string, tidy, keep bool) (err error) {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := repo.Root(wd)
	if err != nil {
		return err
	}
	mods, err := repo.Published(root)
	if err != nil {
		return err
	}
	if problems := checkGoMods(mods); len(problems) > 0 {
		return errors.Join(problems...)
	}
	if version == "" {
		if version, err = requiredRootVersion(mods); err != nil {
			return err
		}
	}
	if problems := checkWorkspace(root, mods); len(problems) > 0 {
		return errors.Join(problems...)
	}
	for _, m := range mods {
		fmt.Printf("module %s (tag %s%s)\n", m.Path, m.TagPrefix(), version)
	}
	if _, err := os.Stat(filepath.Join(root, "LICENSE")); err != nil {
		fmt.Println("warning: no LICENSE at the repository root: pkg.go.dev shows no documentation of a module without a license it recognises")
	}

	tmp, err := os.MkdirTemp("", "releasecheck-")
	if err != nil {
		return err
	}
	env, err := goEnv(tmp, mods[0].Path)
	if err != nil {
		return err
	}
	defer func() {
		// The module cache's files are read-only: go clean removes them.
		_, cerr := repo.Command(tmp, env, "go", "clean", "-modcache")
		if keep {
			fmt.Println("kept", tmp)
			err = errors.Join(err, cerr)
			return
		}
		err = errors.Join(err, cerr, os.RemoveAll(tmp))
	}()

	proxy := filepath.Join(tmp, "proxy")
	for _, m := range mods {
		if err := publish(proxy, root, m, version); err != nil {
			return fmt.Errorf("publishing %s: %w", m.Path, err)
		}
	}

	var libs []library
	var problems []error
	for _, m := range mods {
		start := time.Now()
		pkgs, err := standalone(tmp, proxy, env, root, m, mods, version, tidy)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", m.Path, err))
			continue
		}
		fmt.Printf("%s: tidy and vet outside the workspace (%.1fs)\n", m.Path, time.Since(start).Seconds())
		libs = append(libs, library{Module: m.Path, Packages: pkgs})
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	start := time.Now()
	out, err := consume(filepath.Join(tmp, "consumer"), env, mods[0].File.Go.Version, libs, version)
	if err != nil {
		return err
	}
	fmt.Print(out)
	fmt.Printf("consumer built and run (%.1fs)\n", time.Since(start).Seconds())
	if tidy {
		fmt.Println("go.mod and go.sum are tidy in every published module")
	}
	return nil
}

// goEnv returns the environment of every go command that reads the
// temporary proxy: no workspace, the temporary proxy first, then the
// machine's module cache (its download directory has a proxy's layout), then
// the machine's proxy list.
func goEnv(tmp, rootPath string) ([]string, error) {
	out, err := repo.Command(tmp, nil, "go", "env", "GOPROXY", "GOMODCACHE", "GONOSUMDB", "GOFLAGS")
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 4 {
		return nil, fmt.Errorf("go env printed %q", out)
	}
	goproxy, modcache, nosumdb, goflags := lines[0], lines[1], lines[2], lines[3]
	proxies := []string{fileURL(filepath.Join(tmp, "proxy"))}
	if info, err := os.Stat(filepath.Join(modcache, "cache", "download")); err == nil && info.IsDir() {
		proxies = append(proxies, fileURL(filepath.Join(modcache, "cache", "download")))
	}
	if goproxy != "" && goproxy != "off" {
		proxies = append(proxies, goproxy)
	}
	if nosumdb != "" {
		nosumdb += ","
	}
	return []string{
		"GOWORK=off",
		"GOTOOLCHAIN=local",
		"GOPROXY=" + strings.Join(proxies, ","),
		"GOMODCACHE=" + filepath.Join(tmp, "modcache"),
		"GONOSUMDB=" + nosumdb + rootPath,
		// -trimpath keeps the temporary directory out of the build cache's
		// keys: a second run reuses what the first compiled.
		"GOFLAGS=" + strings.TrimSpace(goflags+" -mod=mod -trimpath"),
	}, nil
}

func fileURL(dir string) string {
	return "file://" + filepath.ToSlash(dir)
}
