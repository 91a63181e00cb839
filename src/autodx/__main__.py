from autodx.cli import main

main()
