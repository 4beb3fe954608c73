package vision_test

import (
	"context"
	"fmt"
	"os"

	"dlmstream/engine"
	"dlmstream/vision"
)

// Caption a rendered scene with the bundled demo vision checkpoint.
func ExampleCaptionImage() {
	eng, err := engine.New("../testdata/models/demo-vision", engine.Options{})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	b, err := os.ReadFile("../testdata/heldout/vision/0002.png")
	if err != nil {
		panic(err)
	}
	img, _, err := vision.Decode(b, vision.DecodeOptions{})
	if err != nil {
		panic(err)
	}
	c, err := vision.CaptionImage(context.Background(), eng, img, vision.CaptionOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q (%d image tokens)\n", c.Text, c.ImageTokens)
	// Output: "a purple circle in the center" (78 image tokens)
}
