module cx.local/peers/pause

go 1.26
