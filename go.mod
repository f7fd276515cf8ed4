module github.com/myriadhq/myriad

go 1.26.0

require (
	github.com/disintegration/imaging v1.6.2
	golang.org/x/image v0.48.0
	golang.org/x/sync v0.25.0
)
