// Package testmodels finds the shared model files that tests read: they are
// data beside the checkout, never copied into it.
package testmodels

import (
	"os"
	"path/filepath"
)

// Dir is the folder of the shared models, with a trailing slash:
// $TUNE_MODELS, else ../shared/models above the module root (the checkout's
// sibling), else /work/shared/models.
func Dir() string {
	candidates := []string{os.Getenv("TUNE_MODELS")}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				candidates = append(candidates, filepath.Join(dir, "..", "shared", "models"))
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	candidates = append(candidates, "/work/shared/models")
	for _, dir := range candidates {
		if st, err := os.Stat(dir); dir != "" && err == nil && st.IsDir() {
			return dir + string(filepath.Separator)
		}
	}
	return "../../shared/models/"
}
