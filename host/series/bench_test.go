package series_test

import (
	"testing"
	"time"

	cron "github.com/netresearch/go-cron"

	"github.com/futurecalls/futurecalls/host/series"
)

// The baseline is go-cron's SpecSchedule.Next, which host/series used before computing
// run times itself: go test -bench . -benchmem ./host/series

func BenchmarkNext(b *testing.B) {
	s, err := series.Parse(series.Spec{Cron: "0 9 * * MON-FRI", TimeZone: "Europe/Berlin"})
	if err != nil {
		b.Fatal(err)
	}
	t := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	for b.Loop() {
		t = s.Next(t)
	}
}

func BenchmarkNextGoCronBaseline(b *testing.B) {
	p := cron.MustNewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.DowOrDom)
	s, err := p.Parse("0 9 * * MON-FRI")
	if err != nil {
		b.Fatal(err)
	}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	t := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC).In(loc)
	for b.Loop() {
		t = s.Next(t)
	}
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := series.Parse(series.Spec{Cron: "0 9 * * MON-FRI", TimeZone: "Europe/Berlin"}); err != nil {
			b.Fatal(err)
		}
	}
}
