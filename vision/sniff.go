package vision

// Sniff names the image format data starts with (png, jpeg, gif, bmp,
// tiff, webp: the formats Decode takes), or "" when it is none of them. It
// reads the magic bytes only; Decode still checks the whole header.
func Sniff(data []byte) string {
	if c := sniff(data); c != nil {
		return c.name
	}
	return ""
}
