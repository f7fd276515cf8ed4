module github.com/myriadhq/myriad

go 1.26
