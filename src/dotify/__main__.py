from dotify.cli import main

main()
