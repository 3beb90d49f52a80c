from milimo.cli import main

main()
