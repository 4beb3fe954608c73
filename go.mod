module dlmstream

go 1.26
