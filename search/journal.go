package search

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Journal is an append-only file of results, one JSON object per line,
// synced to disk after every line. Opening it reads back what an earlier
// run recorded; a line cut short by a crash is dropped.
type Journal struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	results map[string]Result // by key(Task)
	// Dropped counts lines that could not be read back.
	Dropped int
}

// OpenJournal opens or creates the journal at path.
func OpenJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening journal: %w", err)
	}
	j := &Journal{path: path, f: f, results: map[string]Result{}}
	good, err := j.load()
	if err != nil {
		f.Close()
		return nil, err
	}
	// Cut a torn last line so the next append starts on a line of its own.
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return j, nil
}

// load reads every complete line and returns the offset after the last one.
func (j *Journal) load() (int64, error) {
	r := bufio.NewReader(j.f)
	var off int64
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(bytes.TrimSpace(line)) > 0 {
				j.Dropped++ // torn by a crash mid-write
			}
			return off, nil
		}
		if err != nil {
			return 0, fmt.Errorf("reading journal %s: %w", j.path, err)
		}
		off += int64(len(line))
		var res Result
		if err := json.Unmarshal(line, &res); err != nil || res.Task == "" || res.ID == "" {
			j.Dropped++
			continue
		}
		j.results[key(Task{res.Task, res.Env}, res.Kernel, res.ID)] = res
	}
}

func key(t Task, kernel, id string) string {
	return t.Env + "\n" + t.Name + "\n" + kernel + "\n" + id
}

// Lookup returns the recorded result of a kernel's point of a task; a nil
// journal holds none.
func (j *Journal) Lookup(task Task, kernel, id string) (Result, bool) {
	if j == nil {
		return Result{}, false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.results[key(task, kernel, id)]
	if ok {
		r.Cached = true
	}
	return r, ok
}

// Len is the number of results held.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.results)
}

// Append records a result and syncs it to disk before returning.
func (j *Journal) Append(r Result) error {
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal: encoding %s: %w", r.ID, err)
	}
	line = append(line, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(line); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	j.results[key(Task{r.Task, r.Env}, r.Kernel, r.ID)] = r
	return nil
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }

// ReadJournal returns every readable result of a journal file in the order
// it was written, for reports that replay a search.
func ReadJournal(path string) ([]Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading journal: %w", err)
	}
	var out []Result
	for _, line := range bytes.Split(data, []byte("\n")) {
		var r Result
		if json.Unmarshal(line, &r) == nil && r.Task != "" && r.ID != "" {
			out = append(out, r)
		}
	}
	return out, nil
}
