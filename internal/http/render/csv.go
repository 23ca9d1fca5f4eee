package render

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// WantsCSV reports whether the request asks for its list as CSV
// (?format=csv).
func WantsCSV(r *http.Request) bool { return r.URL.Query().Get("format") == "csv" }

// CSV writes a table as a CSV file to download, name.csv: UTF-8 with a byte
// order mark (so that spreadsheet programs read Chinese right), CRLF line
// ends, and every cell that a spreadsheet would run as a formula (starting
// with =, +, -, @, a tab or a carriage return) quoted with a leading
// apostrophe. The whole file is made before anything is written.
func CSV(w http.ResponseWriter, name string, header []string, rows [][]string) {
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true
	cw.Write(header)
	for _, row := range rows {
		safe := make([]string, len(row))
		for i, cell := range row {
			safe[i] = SafeCell(cell)
		}
		cw.Write(safe)
	}
	cw.Flush()
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < ' ' {
			return '_'
		}
		return r
	}, name)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// SafeCell keeps a cell from being run as a formula by a spreadsheet.
func SafeCell(s string) string {
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s // a number, such as -3, is a number
	}
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
