from autodx.entry import main

main()
