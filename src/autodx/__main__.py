from autodx.client import main

main()
