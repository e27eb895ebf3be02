package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestChromiumRenders opens the sample page in headless Chromium (when
// installed: bench/report-check.sh installs it) and checks that the DOM
// keeps the three charts and that a screenshot is written.
func TestChromiumRenders(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil || testing.Short() {
		t.Skip("chromium not installed (bench/report-check.sh installs it) or -short")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	if err := Write(&b, sample()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "report.png")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + filepath.Join(dir, "profile")}
	url := "file://" + page
	if out, err := exec.CommandContext(ctx, bin, append(flags, "--window-size=1000,2400", "--screenshot="+shot, url)...).CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v\n%s", err, out)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 20000 {
		t.Fatalf("screenshot missing or blank: %v", err)
	}
	dom, err := exec.CommandContext(ctx, bin, append(flags, "--dump-dom", url)...).Output()
	if err != nil {
		t.Fatalf("dump-dom: %v", err)
	}
	if n := strings.Count(string(dom), "<svg "); n != 3 {
		t.Fatalf("rendered DOM holds %d charts, want 3", n)
	}
}
