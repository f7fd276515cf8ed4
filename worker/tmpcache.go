package worker

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// tempCachePrefix names the blob caches workers make in the
	// temporary folder when Config.CacheDir is not set.
	tempCachePrefix = "myriad-cache-"
	// ownerFile, inside such a cache, holds its worker's process id.
	ownerFile = "owner.pid"
	// orphanAge is how old a cache without an owner file must be to be
	// taken for an orphan: a worker starting now may not have written
	// its file yet.
	orphanAge = time.Minute
)

// tempCache makes a blob cache folder in the temporary folder, marked
// with this process's id, after removing those whose worker is gone: a
// worker that exits cleanly removes its own, one killed (SIGKILL, a
// crash) cannot, and without this each restart would leave one behind.
func tempCache(log *slog.Logger) (string, error) {
	removeOrphanCaches(os.TempDir(), log)
	dir, err := os.MkdirTemp("", tempCachePrefix)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// removeOrphanCaches removes the worker caches in tmp whose owner
// process no longer runs.
func removeOrphanCaches(tmp string, log *slog.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, tempCachePrefix+"*"))
	for _, d := range dirs {
		if !orphaned(d) {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			log.Warn("remove the cache of a worker that is gone", "dir", d, "err", err)
			continue
		}
		log.Info("removed the cache of a worker that is gone", "dir", d)
	}
}

func orphaned(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if errors.Is(err, os.ErrNotExist) {
		fi, err := os.Stat(dir)
		return err == nil && fi.IsDir() && time.Since(fi.ModTime()) > orphanAge
	}
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return false
	}
	return !alive(pid)
}

// alive reports whether a process with this id runs (or may: anything
// but a clear "no such process" counts as alive).
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return !(errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH))
}
