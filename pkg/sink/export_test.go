package sink

import (
	"reflect"

	"github.com/parquet-go/parquet-go"
)

// ShredderError says whether NewTable[T] shreds T (nil) or keeps parquet-go's row path (why).
func ShredderError[T any]() error {
	var zero T
	_, err := compileShredder(reflect.TypeFor[T](), parquet.SchemaOf(zero))
	return err
}
