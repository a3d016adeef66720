package localarm

import (
	"bytes"
	"strings"
	"testing"
)

func TestVHDFooter(t *testing.T) {
	const size = 1 << 30
	f := vhdFooter(size, "0f8fad5b-d9cb-469f-a165-70867728950e")
	if err := checkVHDFooter(f, size); err != nil {
		t.Fatalf("checkVHDFooter of our own footer: %v", err)
	}
	// The VHD specification's geometry of 1 GiB: 2080 cylinders, 16 heads,
	// 63 sectors per track.
	if c, h, s := chs(size); c != 2080 || h != 16 || s != 63 {
		t.Errorf("chs(1 GiB) = %d/%d/%d, want 2080/16/63", c, h, s)
	}
	bad := bytes.Clone(f)
	bad[40]++ // original size, covered by the checksum
	if err := checkVHDFooter(bad, size); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("tampered footer: %v, want a checksum error", err)
	}
	if err := checkVHDFooter(f, size+BlockSize); err == nil {
		t.Error("footer of another size accepted")
	}
}

func TestVHDRoundTrip(t *testing.T) {
	data := blocks{}
	data.write(3*BlockSize+10, bytes.Repeat([]byte{7}, BlockSize)) // spans blocks 3 and 4
	pb := vhdBlob(data, 8*BlockSize, "0f8fad5b-d9cb-469f-a165-70867728950e")
	got, size, err := fromVHD(pb)
	if err != nil {
		t.Fatal(err)
	}
	if size != 8*BlockSize || got.diff(data) != 0 || len(got) != 2 {
		t.Errorf("round trip: size %d, %d blocks differ, %d blocks present", size, got.diff(data), len(got))
	}
	if _, _, err := fromVHD(PageBlob{Size: 8*BlockSize + 100}); err == nil {
		t.Error("a blob that is not 1 MiB multiples plus a footer was accepted")
	}
}

func TestBlocksDiff(t *testing.T) {
	base := blocks{}
	base.write(0, bytes.Repeat([]byte{1}, 3*BlockSize))
	tests := []struct {
		name   string
		change func(b blocks)
		want   int64
	}{
		{"same", func(blocks) {}, 0},
		{"one byte", func(b blocks) { b.write(BlockSize+5, []byte{9}) }, 1},
		{"new block", func(b blocks) { b.write(10*BlockSize, []byte{9}) }, 1},
		{"zeros written where nothing was", func(b blocks) { b.write(20*BlockSize, make([]byte, BlockSize)) }, 0},
		{"block zeroed", func(b blocks) { b.write(2*BlockSize, make([]byte, BlockSize)) }, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := base.clone()
			tc.change(b)
			if got := b.diff(base); got != tc.want {
				t.Errorf("diff = %d, want %d", got, tc.want)
			}
			if !bytes.Equal(base.read(BlockSize, 10), bytes.Repeat([]byte{1}, 10)) {
				t.Error("writing to a clone changed the original")
			}
		})
	}
}
