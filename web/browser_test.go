package web

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tune-gpu/tune/profiles"
)

var screenshot = flag.String("screenshot", "", "also write the page's screenshot to this file (e.g. ../reports/browser.png)")

// chromium finds the browser: $TUNE_CHROMIUM, Debian's binary, or a
// chromium or chrome on $PATH. Without one the test skips, unless
// TUNE_REQUIRE_CHROMIUM=1.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TUNE_CHROMIUM"); p != "" {
		return p
	}
	// Debian's /usr/bin/chromium is a shell wrapper; the binary is here.
	if _, err := os.Stat("/usr/lib/chromium/chromium"); err == nil {
		return "/usr/lib/chromium/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("TUNE_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("TUNE_REQUIRE_CHROMIUM=1 but no Chromium found: apt-get install chromium, or set TUNE_CHROMIUM to the binary")
	}
	t.Skip("no Chromium (apt-get install chromium, or set TUNE_CHROMIUM); TUNE_REQUIRE_CHROMIUM=1 makes this a failure")
	return ""
}

// pageResults is the part of window.tuneResults the test reads.
type pageResults struct {
	Done    bool   `json:"done"`
	OK      bool   `json:"ok"`
	Error   string `json:"error"`
	Clock   string `json:"clock"`
	Adapter struct {
		Vendor       string   `json:"vendor"`
		Architecture string   `json:"architecture"`
		Fallback     bool     `json:"fallback"`
		Features     []string `json:"features"`
	} `json:"adapter"`
	Kernels []struct {
		Name     string  `json:"name"`
		Verified bool    `json:"verified"`
		Checked  int     `json:"checked"`
		MaxError float64 `json:"max_error"`
		Worst    float64 `json:"worst_error_ratio"`
		Skipped  string  `json:"skipped"`
		Error    string  `json:"error"`
		Native   Native  `json:"native"`
		Browser  *struct {
			Median  float64   `json:"median_s"`
			Rate    float64   `json:"rate"`
			Unit    string    `json:"unit"`
			Clock   string    `json:"clock"`
			Samples []float64 `json:"samples"`
			Repeats int       `json:"repeats"`
		} `json:"browser"`
	} `json:"kernels"`
}

// The checked-in lavapipe profile, exported, runs in headless Chromium's
// WebGPU: every kernel's output matches the CPU reference and is timed.
func TestBrowserRunsExport(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	// Portable: Chromium's SwiftShader adapter allows 256 invocations per
	// workgroup, and the profile's 512x512x512 winner has 512.
	m, err := ExportFile(lavapipeProfile, dir, Options{Portable: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(dir))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.Flag("enable-unsafe-webgpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1360, 800),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	// The page's console, logged if it fails.
	var mu sync.Mutex
	var console []string
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			mu.Lock()
			console = append(console, m.String())
			mu.Unlock()
		}
	}()
	logConsole := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range console {
			t.Logf("console: %s", l)
		}
	}
	// runPage loads the page from url and waits for its results.
	runPage := func(url string) (pageResults, string) {
		t.Helper()
		start := time.Now()
		if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		raw, err := chromedp.Run(bctx, chromedp.Poll[string](`window.tuneResults && window.tuneResults.done && JSON.stringify(window.tuneResults)`,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(80*time.Second)))
		if err != nil {
			logConsole()
			t.Fatalf("waiting for the page's results: %v", err)
		}
		t.Logf("page done in %v", time.Since(start).Round(time.Millisecond))
		title, err := chromedp.Run(bctx, chromedp.Title())
		if err != nil {
			t.Fatal(err)
		}
		var res pageResults
		if err := json.Unmarshal([]byte(raw), &res); err != nil {
			t.Fatalf("window.tuneResults: %v", err)
		}
		if res.Error != "" {
			logConsole()
			t.Fatalf("page failed: %s", res.Error)
		}
		return res, title
	}
	res, title := runPage(srv.URL + "/?samples=5&target_ms=10")
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(t.ArtifactDir(), "browser.png"), *screenshot} {
		if path == "" {
			continue
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}

	t.Logf("adapter: %s %s (fallback %v), clock %s, features %v", res.Adapter.Vendor, res.Adapter.Architecture, res.Adapter.Fallback, res.Clock, res.Adapter.Features)
	if slices.Contains(res.Adapter.Features, "timestamp-query") != (res.Clock == "timestamp") {
		t.Errorf("clock %q with features %v", res.Clock, res.Adapter.Features)
	}
	if len(res.Kernels) != len(m.Kernels) {
		t.Fatalf("page ran %d kernels, the export has %d", len(res.Kernels), len(m.Kernels))
	}
	for i, k := range res.Kernels {
		if k.Name != m.Kernels[i].Name {
			t.Errorf("kernel %d is %s, the export's is %s", i, k.Name, m.Kernels[i].Name)
		}
		switch {
		case k.Skipped != "":
			t.Errorf("%s: skipped: %s", k.Name, k.Skipped)
		case !k.Verified:
			t.Errorf("%s: not verified: %s", k.Name, k.Error)
		case k.Checked != checked(m.Kernels[i]):
			t.Errorf("%s: %d elements checked, the export has %d", k.Name, k.Checked, checked(m.Kernels[i]))
		case k.Worst > 1:
			t.Errorf("%s: verified with an error of %g times the tolerance", k.Name, k.Worst)
		case k.Browser == nil || !(k.Browser.Rate > 0) || !(k.Browser.Median > 0) || len(k.Browser.Samples) != 5:
			t.Errorf("%s: no browser rate: %+v", k.Name, k.Browser)
		case k.Browser.Unit != m.Kernels[i].Unit || k.Native.Rate != m.Kernels[i].Native.Rate:
			t.Errorf("%s: units or native rate differ from the export's", k.Name)
		default:
			t.Logf("%-30s native %.3g %s, browser %.3g %s (%s, %d x %d), max error %.3g (%.2g%% of tolerance)",
				k.Name, k.Native.Rate, k.Native.Unit, k.Browser.Rate, k.Browser.Unit, k.Browser.Clock,
				len(k.Browser.Samples), k.Browser.Repeats, k.MaxError, 100*k.Worst)
		}
	}
	if !res.OK {
		t.Error("window.tuneResults.ok is false")
	}
	if want := fmt.Sprintf("tune: done, %d/%d verified", len(m.Kernels), len(m.Kernels)); title != want {
		t.Errorf("title %q, want %q", title, want)
	}

	// GEMM and formats with a min, which the lavapipe profile lacks, run
	// too; and the page's check can fail: with one expected value moved by
	// ten tolerances, that kernel is reported wrong and not timed, and the
	// others still verify.
	bad := t.TempDir()
	bm, err := Export(quantProfile(), bad, Options{Portable: true})
	if err != nil {
		t.Fatal(err)
	}
	c := &bm.Kernels[1].Checks[0]
	c.Want[7] += 10 * c.Tol[7]
	b, err := json.Marshal(bm)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	badSrv := httptest.NewServer(Handler(bad))
	defer badSrv.Close()
	res, title = runPage(badSrv.URL + "/?samples=3&target_ms=10&clock=wall")
	if res.Clock != "wall" {
		t.Errorf("clock %q with clock=wall", res.Clock)
	}
	if len(res.Kernels) != len(bm.Kernels) || res.OK {
		t.Fatalf("page ran %d kernels, ok %v; want %d, not ok", len(res.Kernels), res.OK, len(bm.Kernels))
	}
	for i, k := range res.Kernels {
		if i == 1 {
			want := fmt.Sprintf("wrong result: %s[%d] = ", bm.Kernels[1].Buffers[c.Buffer].Name, c.Index[7])
			if k.Verified || k.Browser != nil || !strings.HasPrefix(k.Error, want) {
				t.Errorf("%s with a wrong expected value: verified %v, timed %v, error %q; want %q...", k.Name, k.Verified, k.Browser != nil, k.Error, want)
			}
		} else if !k.Verified || k.Browser == nil || !(k.Browser.Rate > 0) || len(k.Browser.Samples) != 3 {
			t.Errorf("%s: not verified or not timed: %s", k.Name, k.Error)
		} else if k.Browser.Clock != "wall" {
			t.Errorf("%s: timed by %s with clock=wall", k.Name, k.Browser.Clock)
		} else {
			t.Logf("%-30s browser %.3g %s, max error %.3g (%.2g%% of tolerance)", k.Name, k.Browser.Rate, k.Browser.Unit, k.MaxError, 100*k.Worst)
		}
	}
	if want := fmt.Sprintf("tune: done, %d/%d verified", len(bm.Kernels)-1, len(bm.Kernels)); title != want {
		t.Errorf("title %q, want %q", title, want)
	}

	// Attention (prefill, and decode's two dispatches run as one) and the
	// block kernels verify and are timed too; and a whole check can fail:
	// with argmax's expected index moved by one, argmax is reported wrong
	// and not timed. RoPE runs in both layouts, with and without frequency
	// factors, at position 4095 (pair 0 turns by 4095 rad): the kernels'
	// own cos and sin hold the 2^-21 tolerance where SwiftShader's sin and
	// cos are 2^-12.4 off even on [-pi, pi].
	kp := kernelProfile(t)
	i := slices.IndexFunc(kp.Entries, func(e profiles.Entry) bool { return e.Op == "rope" })
	if i < 0 {
		t.Fatal("the kernel profile has no rope entry")
	}
	adjacent := kp.Entries[i]
	adjacent.Dtype, adjacent.Shape = "f32", []int{4, 128}
	kp.Entries = slices.Insert(kp.Entries, i+1, adjacent)
	kdir := t.TempDir()
	km, err := Export(kp, kdir, Options{Portable: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(slices.DeleteFunc(slices.Clone(km.Kernels), func(k Kernel) bool { return k.Op != "rope" })); n != 2 {
		t.Fatalf("the export has %d rope kernels, want 2", n)
	}
	wrong := slices.IndexFunc(km.Kernels, func(k Kernel) bool { return k.Op == "argmax" })
	expect := filepath.Join(kdir, km.Kernels[wrong].Checks[0].Expect)
	idx := readWords(t, expect)
	if err := os.WriteFile(expect, binary.LittleEndian.AppendUint32(nil, idx[0]+1), 0o644); err != nil {
		t.Fatal(err)
	}
	kSrv := httptest.NewServer(Handler(kdir))
	defer kSrv.Close()
	res, title = runPage(kSrv.URL + "/?samples=3&target_ms=5")
	if png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "browser-kernels.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if len(res.Kernels) != len(km.Kernels) || res.OK {
		t.Fatalf("page ran %d kernels, ok %v; want %d, not ok", len(res.Kernels), res.OK, len(km.Kernels))
	}
	for i, k := range res.Kernels {
		if i == wrong {
			want := fmt.Sprintf("wrong result: out[0] = 0x%x (u32 %d, ", idx[0], idx[0])
			if k.Verified || k.Browser != nil || !strings.HasPrefix(k.Error, want) || !strings.Contains(k.Error, "exactly") {
				t.Errorf("%s with a wrong expected index: verified %v, timed %v, error %q; want %q...exactly", k.Name, k.Verified, k.Browser != nil, k.Error, want)
			}
			continue
		}
		switch {
		case !k.Verified:
			t.Errorf("%s: not verified: %s", k.Name, k.Error)
		case k.Checked != checked(km.Kernels[i]) || k.Worst > 1:
			t.Errorf("%s: %d elements checked (the export has %d), worst error %g of the tolerance", k.Name, k.Checked, checked(km.Kernels[i]), k.Worst)
		case k.Browser == nil || !(k.Browser.Rate > 0) || len(k.Browser.Samples) != 3 || k.Browser.Unit != km.Kernels[i].Unit:
			t.Errorf("%s: not timed: %+v", k.Name, k.Browser)
		default:
			t.Logf("%-36s browser %.3g %s, max error %.3g (%.2g%% of tolerance)", k.Name, k.Browser.Rate, k.Browser.Unit, k.MaxError, 100*k.Worst)
		}
	}
	if want := fmt.Sprintf("tune: done, %d/%d verified", len(km.Kernels)-1, len(km.Kernels)); title != want {
		t.Errorf("title %q, want %q", title, want)
	}
}

// checked counts the elements k's checks compare with a reference.
func checked(k Kernel) int {
	n := 0
	for _, c := range k.Checks {
		n += c.Checked()
	}
	return n
}
