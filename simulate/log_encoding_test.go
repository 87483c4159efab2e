package simulate_test

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/campaignconnector/campaignconnector/simulate"
)

const twoEvents = `{"user_id":"ann","kind":"email_received","campaign_id":"newsletter","time":"2026-01-05T10:00:00Z"}
# a comment
{"user_id":"bob","kind":"email_opened","campaign_id":"newsletter"}
`

// Editors on Windows save UTF-8 with a byte order mark, and with CRLF
// line endings: such a log reads as the same lines.
func TestReadLogTakesABOMAndCRLF(t *testing.T) {
	want, err := simulate.ReadLog(strings.NewReader(twoEvents))
	if err != nil || len(want) != 2 {
		t.Fatalf("ReadLog = %d lines, %v", len(want), err)
	}
	for name, text := range map[string]string{
		"BOM":        "\ufeff" + twoEvents,
		"CRLF":       strings.ReplaceAll(twoEvents, "\n", "\r\n"),
		"BOM, CRLF":  "\ufeff" + strings.ReplaceAll(twoEvents, "\n", "\r\n"),
		"BOM, #":     "\ufeff# first a comment\n" + twoEvents,
		"BOM, blank": "\ufeff\n" + twoEvents,
	} {
		got, err := simulate.ReadLog(strings.NewReader(text))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d lines, want %d", name, len(got), len(want))
			continue
		}
		for i := range got {
			if !reflect.DeepEqual(got[i].Event, want[i].Event) || !got[i].Time.Equal(want[i].Time) {
				t.Errorf("%s: line %d = %+v, want %+v", name, i, got[i], want[i])
			}
		}
	}
	if _, err := simulate.ReadLog(strings.NewReader(`{"user_id":"ann"}` + "\ufeff\n")); err == nil {
		t.Error("a BOM after the start of the file is taken, want an error")
	}
}

// A log or setup saved as UTF-16 (PowerShell's default on Windows) fails
// with an error that says so, not with "invalid character 'ÿ'".
func TestReadLogAndSetupSayUTF16(t *testing.T) {
	for _, bom := range []string{"\xff\xfe", "\xfe\xff"} {
		text := bom + "{\x00}\x00\n\x00"
		_, err := simulate.ReadLog(strings.NewReader(text))
		var le *simulate.LineError
		if !errors.Is(err, simulate.ErrScript) || !errors.As(err, &le) || le.Line != 1 || !strings.Contains(err.Error(), "UTF-16") {
			t.Errorf("ReadLog(% x…) = %v, want a script error of line 1 naming UTF-16", bom, err)
		}
		if _, err := simulate.ReadSetup(strings.NewReader(text)); !errors.Is(err, simulate.ErrScript) || !strings.Contains(err.Error(), "UTF-16") {
			t.Errorf("ReadSetup(% x…) = %v, want a script error naming UTF-16", bom, err)
		}
	}
}

// A setup saved with a byte order mark reads as without.
func TestReadSetupTakesABOM(t *testing.T) {
	text := `{"start": "2026-01-05T09:00:00Z",` + "\r\n" + ` "campaigns": [{"id": "newsletter"}]}` + "\r\n"
	want, err := simulate.ReadSetup(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	got, err := simulate.ReadSetup(strings.NewReader("\ufeff" + text))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ReadSetup with a BOM = %+v, %v; want %+v", got, err, want)
	}
	// Positions count from after the mark, as an editor shows them.
	bad := "{\n \"campaigns\": 5}"
	_, wantErr := simulate.ReadSetup(strings.NewReader(bad))
	_, err = simulate.ReadSetup(strings.NewReader("\ufeff" + bad))
	var le, wantLE *simulate.LineError
	if !errors.As(wantErr, &wantLE) || !errors.As(err, &le) || le.Line != wantLE.Line || le.Column != wantLE.Column {
		t.Errorf("ReadSetup with a BOM and a type error = %v, want the position of %v", err, wantErr)
	}
}

// Classic Mac OS, and some editors and exporters, end lines with a lone
// CR: such a log reads as the same lines, with a BOM too, and errors name
// the line an editor shows, whichever of CR, LF and CRLF ends each line.
func TestReadLogTakesCRLineEndings(t *testing.T) {
	want, err := simulate.ReadLog(strings.NewReader(twoEvents))
	if err != nil || len(want) != 2 {
		t.Fatalf("ReadLog = %d lines, %v", len(want), err)
	}
	cr := strings.ReplaceAll(twoEvents, "\n", "\r")
	for name, text := range map[string]string{
		"CR":             cr,
		"BOM, CR":        "\ufeff" + cr,
		"CR, no last":    strings.TrimSuffix(cr, "\r"),
		"CR, blank, LF":  "\r\n\r" + twoEvents,
		"comment, CR":    "# a comment\r" + twoEvents,
		"CR, then CRLF":  strings.Replace(twoEvents, "\n", "\r", 1) + "\r\n",
		"CR after CRLF":  strings.Replace(cr, "\r", "\r\n", 1),
		"CR, blank, BOM": "\ufeff\r" + cr,
		// Past the 64 KiB the reader buffers, a CRLF split by a read.
		"long comment, CRLF": "#" + strings.Repeat(" ", 64<<10-2) + "\r\n" + strings.ReplaceAll(twoEvents, "\n", "\r"),
	} {
		// One byte at a time, each CR ends a read, and what follows it
		// (LF or not) comes with the next.
		for how, r := range map[string]io.Reader{
			"":               strings.NewReader(text),
			", byte by byte": iotest.OneByteReader(strings.NewReader(text)),
		} {
			got, err := simulate.ReadLog(r)
			if err != nil {
				t.Errorf("%s%s: %v", name, how, err)
				continue
			}
			if len(got) != len(want) {
				t.Errorf("%s%s: %d lines, want %d", name, how, len(got), len(want))
				continue
			}
			for i := range got {
				if !reflect.DeepEqual(got[i].Event, want[i].Event) || !got[i].Time.Equal(want[i].Time) {
					t.Errorf("%s%s: line %d = %+v, want %+v", name, how, i, got[i], want[i])
				}
			}
		}
	}
	// An editor shows "\r\n" as one line end, and "\r\r\n" as two.
	for _, tc := range []struct {
		text string
		line int
	}{
		{"# one\r# two\rnot JSON\r", 3},
		{"# one\r\n# two\nnot JSON\n", 3},
		{"# one\r\r\nnot JSON", 3},
		{"\ufeff\r\r{}\r{\"op\":\"advance\"}\r", 4},
	} {
		_, err := simulate.ReadLog(strings.NewReader(tc.text))
		var le *simulate.LineError
		if !errors.Is(err, simulate.ErrScript) || !errors.As(err, &le) || le.Line != tc.line {
			t.Errorf("ReadLog(%q) = %v, want a script error of line %d", tc.text, err, tc.line)
		}
	}
	// A UTF-16 file with CR line endings is still refused as UTF-16.
	_, err = simulate.ReadLog(strings.NewReader("\xff\xfe{\x00}\x00\r\x00"))
	if err == nil || !strings.Contains(err.Error(), "UTF-16") {
		t.Errorf("ReadLog of UTF-16 with CR = %v, want an error naming UTF-16", err)
	}
}

// A setup with CR or CRLF line endings reads as with LF, and the line and
// column of an error are those an editor shows.
func TestReadSetupPositionsWithCRLineEndings(t *testing.T) {
	bad := "{\"start\": \"2026-01-05T00:00:00Z\",\n\n \"publish\": 5}"
	_, wantErr := simulate.ReadSetup(strings.NewReader(bad))
	var wantLE *simulate.LineError
	if !errors.As(wantErr, &wantLE) || wantLE.Line != 3 {
		t.Fatalf("ReadSetup(%q) = %v, want an error of line 3", bad, wantErr)
	}
	for _, end := range []string{"\r", "\r\n"} {
		text := strings.ReplaceAll(bad, "\n", end)
		_, err := simulate.ReadSetup(strings.NewReader(text))
		var le *simulate.LineError
		if !errors.As(err, &le) || le.Line != wantLE.Line || le.Column != wantLE.Column {
			t.Errorf("ReadSetup(%q) = %v, want the position of %v", text, err, wantErr)
		}
	}
}
