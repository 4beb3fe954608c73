package vision_test

import (
	"fmt"

	"dlmstream/vision"
)

// Four image rows [4, 2], two of them the same direction: keeping three
// drops a duplicate.
func ExampleKeepDiverse() {
	rows := []float32{
		1, 0, // east
		0, 1, // north
		2, 0, // east again
		-1, 0, // west
	}
	kept, err := vision.KeepDiverse(rows, 4, 2, 3, nil)
	fmt.Println(kept, err)
	// Output: [0 1 3] <nil>
}
