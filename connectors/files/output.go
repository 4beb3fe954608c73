package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// outputFile is one sink output (a JSON Lines or Parquet file) written under
// a temporary name next to its final one, .NAME.tmp-<random> in the same
// folder, and renamed to NAME by Commit once every byte is written, synced
// and closed. Until then nothing is at NAME (or a previous run's complete
// file stays there): a full disk, a folder that became unwritable or a
// killed worker never leaves a truncated file under the final name. On any
// error the temporary file is removed (Abort) and the error names the
// final path and the cause, e.g. "files: write /data/out.jsonl: no space
// left on device".
//
// Local paths use the os package (fsync of the file, then of the folder
// after the rename); other schemes go through Beam's filesystem
// (OpenWrite, Close, filesystem.Rename, Remover).
type outputFile struct {
	path, tmp string
	w         io.Writer // what Write writes to: the file, or a test's wrapper
	err       error     // the first write error; later writes repeat it

	local *os.File       // local paths
	wc    io.WriteCloser // other schemes
	bfs   filesystem.Interface
	ctx   context.Context
	done  bool // committed or aborted
}

// wrapOutput, when set (tests only), wraps the writer of every output file:
// a test swaps in one that fails after N bytes with syscall.ENOSPC.
var wrapOutput func(path string, w io.Writer) io.Writer

// createOutput opens path's temporary file, creating path's folder if
// needed (as Beam's local filesystem does).
func createOutput(ctx context.Context, path string) (*outputFile, error) {
	dir, name := splitPath(path)
	o := &outputFile{path: path, ctx: ctx}
	if isLocal(path) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, o.fail("create", err)
		}
		for range 100 {
			o.tmp = filepath.Join(dir, tempName(name))
			f, err := os.OpenFile(o.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			if err != nil {
				return nil, o.fail("create", err)
			}
			o.local, o.w = f, f
			break
		}
		if o.local == nil {
			return nil, fmt.Errorf("files: create %s: no free temporary name in %s", path, dir)
		}
	} else {
		bfs, err := filesystem.New(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("files: create %s: %w", path, err)
		}
		o.bfs, o.tmp = bfs, dir+tempName(name)
		wc, err := bfs.OpenWrite(ctx, o.tmp)
		if err != nil {
			bfs.Close()
			return nil, o.fail("create", err)
		}
		o.wc, o.w = wc, wc
	}
	if wrapOutput != nil {
		o.w = wrapOutput(path, o.w)
	}
	return o, nil
}

// Write writes to the temporary file. The first error sticks: it is
// returned again by every later Write and by Commit.
func (o *outputFile) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		o.err = o.fail("write", err)
	}
	return n, o.err
}

// Commit syncs and closes the temporary file and renames it to the final
// name. On error the temporary file is removed and nothing is at the final
// name that was not there before.
func (o *outputFile) Commit() error {
	if o.done {
		return fmt.Errorf("files: %s already committed or aborted", o.path)
	}
	if o.err != nil {
		return o.abort(o.err)
	}
	if o.local != nil {
		return o.commitLocal()
	}
	if err := o.wc.Close(); err != nil {
		o.wc = nil
		return o.abort(o.fail("close", err))
	}
	o.wc = nil
	if err := filesystem.Rename(o.ctx, o.bfs, o.tmp, o.path); err != nil {
		return o.abort(fmt.Errorf("files: rename %s to %s: %w", o.tmp, o.path, err))
	}
	o.done = true
	return o.bfs.Close()
}

func (o *outputFile) commitLocal() error {
	f := o.local
	if err := f.Sync(); err != nil {
		return o.abort(o.fail("sync", err))
	}
	o.local = nil
	if err := f.Close(); err != nil {
		return o.abort(o.fail("close", err))
	}
	if err := os.Rename(o.tmp, o.path); err != nil {
		return o.abort(fmt.Errorf("files: rename %s to %s: %w", o.tmp, o.path, cause(err)))
	}
	o.done = true
	// The rename is durable once the folder is synced. Some filesystems
	// cannot sync a folder (EINVAL): the file itself is synced.
	if d, err := os.Open(filepath.Dir(o.path)); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
			return fmt.Errorf("files: sync folder of %s: %w", o.path, cause(err))
		}
	}
	return nil
}

// Abort closes and removes the temporary file (after a failed write, or
// when a sink gives up on all its files); it does nothing after Commit.
func (o *outputFile) Abort() error {
	if o.done {
		return nil
	}
	return o.abort(nil)
}

// abort removes the temporary file and returns err, joined with an error
// naming the temporary file if it could not be removed.
func (o *outputFile) abort(err error) error {
	o.done = true
	if o.local != nil {
		o.local.Close()
		o.local = nil
	}
	if o.wc != nil {
		o.wc.Close()
		o.wc = nil
	}
	var rmErr error
	if o.bfs != nil {
		if rm, ok := o.bfs.(filesystem.Remover); ok {
			rmErr = rm.Remove(o.ctx, o.tmp)
		}
		o.bfs.Close()
	} else if o.tmp != "" {
		rmErr = os.Remove(o.tmp)
	}
	// ENOTDIR: the folder itself is gone (replaced by a file), and with it
	// the temporary file.
	if rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && !errors.Is(rmErr, syscall.ENOTDIR) {
		err = errors.Join(err, fmt.Errorf("files: temporary file %s of %s left behind: %w", o.tmp, o.path, cause(rmErr)))
	}
	return err
}

// fail is the error of op on the output: the final path and the cause (the
// OS error without the temporary name, which the caller never chose).
func (o *outputFile) fail(op string, err error) error {
	return fmt.Errorf("files: %s %s: %w", op, o.path, o.cause(err))
}

// cause strips the path from an error about the temporary file; an error
// about another path (a parent folder that is a file) keeps it.
func (o *outputFile) cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == o.tmp {
		return pe.Err
	}
	return err
}

// cause strips an *fs.PathError or *os.LinkError down to the OS error.
func cause(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}

// isLocal reports whether path has no scheme (Beam's "default" filesystem).
func isLocal(path string) bool { return strings.Index(path, "://") <= 0 }

// splitPath splits path into its folder (with the trailing separator for
// other schemes) and file name.
func splitPath(path string) (dir, name string) {
	if isLocal(path) {
		return filepath.Dir(path), filepath.Base(path)
	}
	i := strings.LastIndex(path, "/")
	return path[:i+1], path[i+1:]
}

// tempName is the temporary name of an output file called name: hidden,
// and not ending in .jsonl or .parquet, so a glob over the folder's
// outputs (*.jsonl) does not match it.
func tempName(name string) string {
	return fmt.Sprintf(".%s.tmp-%08x", name, rand.Uint32())
}
