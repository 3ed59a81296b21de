from paved.cli.app import main

main()
