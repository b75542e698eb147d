from departure_screening.cli import main

raise SystemExit(main())
