package vision_test

import (
	"fmt"
	"os"

	"dlmstream/vision"
)

func ExampleDecode() {
	data, err := os.ReadFile("../testdata/golden/vision/images/rgba-50x30.png")
	if err != nil {
		panic(err)
	}
	img, info, err := vision.Decode(data, vision.DecodeOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(info.Format, info.Color, img.W, img.H)

	_, _, err = vision.Decode([]byte("not an image"), vision.DecodeOptions{})
	fmt.Println(vision.ReasonOf(err))
	// Output:
	// png rgba 50 30
	// not-image
}

func ExampleLoad() {
	enc, err := vision.Load("../testdata/models/demo-vision")
	if err != nil {
		panic(err)
	}
	defer enc.Close()
	data, err := os.ReadFile("../testdata/golden/vision/images/photo-640x480.png")
	if err != nil {
		panic(err)
	}
	img, _, err := vision.Decode(data, vision.DecodeOptions{})
	if err != nil {
		panic(err)
	}
	f, err := enc.Encode(img)
	if err != nil {
		panic(err)
	}
	n, _ := enc.NumTokens(img.W, img.H)
	fmt.Printf("%d rows of %d for %d placeholders of token %d\n", f.N, f.Hidden, n, f.TokenID)
	// Output:
	// 64 rows of 160 for 64 placeholders of token 4
}

func ExampleRopeIndex() {
	// <|im_start|> <|vision_start|> 6 × <|image_pad|> <|vision_end|> text: a 4×6-patch
	// image merges 2×2 into 2×3 rows.
	ids := []int{1, 399, 4, 4, 4, 4, 4, 4, 400, 12}
	pos, delta, err := vision.RopeIndex(ids, 4, []vision.GridTHW{{T: 1, H: 4, W: 6}}, 2)
	if err != nil {
		panic(err)
	}
	fmt.Println("t", pos[0])
	fmt.Println("h", pos[1])
	fmt.Println("w", pos[2])
	fmt.Println("delta", delta)
	// Output:
	// t [0 1 2 2 2 2 2 2 5 6]
	// h [0 1 2 2 2 3 3 3 5 6]
	// w [0 1 2 3 4 2 3 4 5 6]
	// delta -3
}
