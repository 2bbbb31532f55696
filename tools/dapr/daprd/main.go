package main

func main() {
	Run()
}
