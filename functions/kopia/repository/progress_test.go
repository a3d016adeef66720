package repository

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestThrottle(t *testing.T) {
	var got []int64

	now := time.Unix(0, 0)
	th := newThrottle(func(p Progress) { got = append(got, p.BytesHashed) })
	th.now = func() time.Time { return now }

	report := func(at time.Duration, n int64) {
		now = time.Unix(0, 0).Add(at)
		th.maybe(func() Progress { return Progress{BytesHashed: n} })
	}

	report(0, 1)                       // first report goes through
	report(100*time.Millisecond, 2)    // too soon
	report(249*time.Millisecond, 3)    // too soon
	report(250*time.Millisecond, 4)    // an interval later
	report(300*time.Millisecond, 5)    // too soon
	th.final(Progress{BytesHashed: 6}) // always

	if diff := cmp.Diff([]int64{1, 4, 6}, got); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
}

func TestThrottleWithoutCallback(t *testing.T) {
	th := newThrottle(nil)
	th.maybe(func() Progress { t.Fatal("progress computed with no callback"); return Progress{} })
	th.final(Progress{})
}
