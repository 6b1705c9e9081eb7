"""Flows 1-3 and the new screens, driven by the client openapi-python-client generated from the served
document (scripts/test-client generates it and runs this). Every answer is parsed by the generated models,
which refuse an enum value or miss a required field the document does not describe: a field or value renamed
on one side only fails here. Real HTTP through the local runner's API Gateway, real tokens of the user pool.
"""

import datetime
import json
import os
import time

import pytest

from ecobid_client import AuthenticatedClient, Client
from ecobid_client.api.auctions import create_auction, get_auction, list_bids, place_bid
from ecobid_client.api.items import browse, create_item, delete_item, edit_item, get_item
from ecobid_client.api.reservations import cancel, complete, confirm, get_reservation, reserve
from ecobid_client.api.users import (
    delete_me,
    me,
    my_auctions,
    my_bids,
    my_items,
    my_reservations,
    public_profile,
    rate_user,
    ratings,
    update_me,
)
from ecobid_client.models import (
    Auction,
    AuctionPage,
    AuctionStatus,
    BidPage,
    BidPlacedResponse,
    BidRequest,
    BidStandingPage,
    Category,
    ConfirmRequest,
    ItemEditRequest,
    ItemMode,
    ItemPage,
    ItemStatus,
    ItemView,
    NewAuction,
    NewItem,
    NewRating,
    Point,
    Problem,
    ProfileUpdate,
    PublicProfile,
    Rating,
    RatingPage,
    Reservation,
    ReservationPage,
    ReservationStatus,
    Role,
    Standing,
    UserProfile,
)

API = os.environ["ECOBID_API"]
TOKENS = json.loads(os.environ["ECOBID_TOKENS"])
HOME = (48.8584, 2.2945)


def client(who: str) -> AuthenticatedClient:
    # raise_on_unexpected_status: a status the document does not list for the operation fails the test.
    return AuthenticatedClient(
        base_url=API, token=TOKENS[who], raise_on_unexpected_status=True, timeout=30.0
    )


def anonymous() -> Client:
    return Client(base_url=API, raise_on_unexpected_status=True, timeout=30.0)


def ok(answer, status: int, model):
    """The parsed body of an answer that must have `status` and be a `model`."""
    assert answer.status_code == status, (answer.status_code, answer.content)
    assert isinstance(answer.parsed, model), (type(answer.parsed), answer.content)
    return answer.parsed


def problem(answer, status: int, kind: str) -> Problem:
    """The problem of a refusal: its status and its documented type."""
    got = ok(answer, status, Problem)
    assert got.type_ == f"urn:ecobid:problem:{kind}", got.to_dict()
    return got


def me_id(who: str) -> str:
    return ok(me.sync_detailed(client=client(who)), 200, UserProfile).id


def new_item(who: str, title: str, mode: ItemMode = ItemMode.FREE) -> ItemView:
    body = NewItem(
        title=title,
        description="Solid oak, seats six",
        category=Category.FURNITURE,
        location=Point(lat=HOME[0], lon=HOME[1]),
        mode=mode,
    )
    return ok(create_item.sync_detailed(client=client(who), body=body), 201, ItemView)


@pytest.fixture(scope="module")
def named():
    """Every party has a profile with a display name and a home."""
    for who in TOKENS:
        body = ProfileUpdate(display_name=who.title(), home=Point(lat=HOME[0], lon=HOME[1]))
        ok(update_me.sync_detailed(client=client(who), body=body), 200, UserProfile)
    return {who: me_id(who) for who in TOKENS}


def test_flow_1_post_browse_and_edit(named):
    item = new_item("seller", "Solid oak tabel")
    assert item.status is ItemStatus.AVAILABLE and item.mode is ItemMode.FREE
    assert item.seller_id == named["seller"]

    # Anyone browses it near its point, in its category.
    page = ok(
        browse.sync_detailed(
            client=anonymous(), near=f"{HOME[0]},{HOME[1]}", radius_km=2.0, category=Category.FURNITURE
        ),
        200,
        ItemPage,
    )
    assert item.id in [i.id for i in page.items]

    # The seller fixes the typo with the version read; the buyer may not; a stale version is refused.
    read = get_item.sync_detailed(item.id, client=anonymous())
    etag = read.headers["etag"]
    assert ok(read, 200, ItemView).title == "Solid oak tabel"
    edited = edit_item.sync_detailed(
        item.id, client=client("seller"), body=ItemEditRequest(title="Solid oak table"), if_match=etag
    )
    assert ok(edited, 200, ItemView).title == "Solid oak table"
    current = edited.headers["etag"]
    assert current != etag
    problem(
        edit_item.sync_detailed(
            item.id, client=client("buyer"), body=ItemEditRequest(title="Mine now"), if_match=current
        ),
        403,
        "forbidden",
    )
    problem(
        edit_item.sync_detailed(
            item.id, client=client("seller"), body=ItemEditRequest(title="Again"), if_match=etag
        ),
        412,
        "version-mismatch",
    )

    # It is the seller's listing, nobody else's.
    mine = ok(my_items.sync_detailed(client=client("seller"), status=ItemStatus.AVAILABLE), 200, ItemPage)
    assert item.id in [i.id for i in mine.items]
    theirs = ok(my_items.sync_detailed(client=client("buyer")), 200, ItemPage)
    assert item.id not in [i.id for i in theirs.items]

    # The seller withdraws it.
    assert delete_item.sync_detailed(item.id, client=client("seller")).status_code == 204
    problem(get_item.sync_detailed(item.id, client=anonymous()), 404, "not-found")


def test_flow_2_reserve_pick_up_and_rate(named):
    item = new_item("seller", "Kids bike")
    reservation = ok(reserve.sync_detailed(item.id, client=client("buyer")), 201, Reservation)
    assert reservation.status is ReservationStatus.PENDING
    assert (reservation.buyer_id, reservation.seller_id) == (named["buyer"], named["seller"])
    assert ok(get_item.sync_detailed(item.id, client=anonymous()), 200, ItemView).status is ItemStatus.RESERVED
    # Nothing reserved can be edited.
    etag = get_item.sync_detailed(item.id, client=anonymous()).headers["etag"]
    problem(
        edit_item.sync_detailed(
            item.id, client=client("seller"), body=ItemEditRequest(title="Kids bike, red"), if_match=etag
        ),
        409,
        "item-not-editable",
    )

    # Both roles list the reservation; the rival sees it in neither.
    for who, role in [("buyer", Role.BUYER), ("seller", Role.SELLER)]:
        page = my_reservations.sync_detailed(client=client(who), role=role, status=ReservationStatus.PENDING)
        assert reservation.id in [r.id for r in ok(page, 200, ReservationPage).items], who
    for role in [Role.BUYER, Role.SELLER]:
        page = my_reservations.sync_detailed(client=client("rival"), role=role)
        assert reservation.id not in [r.id for r in ok(page, 200, ReservationPage).items]

    pickup = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=3)
    confirmed = ok(
        confirm.sync_detailed(reservation.id, client=client("seller"), body=ConfirmRequest(pickup_at=pickup)),
        200,
        Reservation,
    )
    assert confirmed.status is ReservationStatus.CONFIRMED
    done = ok(complete.sync_detailed(reservation.id, client=client("buyer")), 200, Reservation)
    assert done.status is ReservationStatus.COMPLETED
    assert ok(get_item.sync_detailed(item.id, client=anonymous()), 200, ItemView).status is ItemStatus.PICKED_UP
    fetched = ok(get_reservation.sync_detailed(reservation.id, client=client("seller")), 200, Reservation)
    assert fetched.status is ReservationStatus.COMPLETED

    # Both rate each other; the seller's public profile shows the figures and nothing private.
    for rater, ratee, stars in [("buyer", "seller", 5), ("seller", "buyer", 4)]:
        given = rate_user.sync_detailed(
            named[ratee], client=client(rater), body=NewRating(about=reservation.id, stars=stars, comment="Thanks")
        )
        assert ok(given, 201, Rating).stars == stars
    profile = ok(public_profile.sync_detailed(named["seller"], client=anonymous()), 200, PublicProfile)
    assert (profile.display_name, profile.rating_count, profile.rating_average) == ("Seller", 1, 5.0)
    assert profile.deals_completed >= 1 and profile.member_since is not None
    for private in ["email", "home", "notifications"]:
        assert private not in profile.additional_properties, profile.to_dict()
    received = ratings.sync_detailed(named["seller"], client=anonymous())
    page = ok(received, 200, RatingPage)
    assert [(r.rater_id, r.stars, r.about) for r in page.items] == [(named["buyer"], 5, reservation.id)]

    # A second reservation, cancelled, leaves the item with a cancelled reservation in the buyer's list.
    other = new_item("seller", "Garden chair")
    again = ok(reserve.sync_detailed(other.id, client=client("buyer")), 201, Reservation)
    cancelled = ok(cancel.sync_detailed(again.id, client=client("buyer")), 200, Reservation)
    assert cancelled.status is ReservationStatus.CANCELLED
    assert ok(get_item.sync_detailed(other.id, client=anonymous()), 200, ItemView).status is ItemStatus.AVAILABLE


def test_flow_3_auction_bids_and_close(named):
    lot = new_item("seller", "Vintage lamp", ItemMode.AUCTION)
    auction = ok(
        create_auction.sync_detailed(
            client=client("seller"),
            body=NewAuction(item_id=lot.id, starting_price=1000, min_increment=100, duration_seconds=60),
        ),
        201,
        Auction,
    )
    assert auction.status is AuctionStatus.OPEN
    for who, amount in [("buyer", 1000), ("rival", 1100)]:
        placed = ok(
            place_bid.sync_detailed(auction.id, client=client(who), body=BidRequest(amount=amount)),
            201,
            BidPlacedResponse,
        )
        assert placed.bid.amount == amount
    problem(
        place_bid.sync_detailed(auction.id, client=client("buyer"), body=BidRequest(amount=1150)),
        409,
        "bid-too-low",
    )
    bids = list_bids.sync_detailed(auction.id, client=anonymous())
    assert [b.amount for b in ok(bids, 200, BidPage).items] == [1100, 1000]

    def standing(who: str):
        page = my_bids.sync_detailed(client=client(who))
        entry = next(e for e in ok(page, 200, BidStandingPage).items if e.auction.id == auction.id)
        return entry.standing, entry.my_top_bid

    assert standing("buyer") == (Standing.OUTBID, 1000)
    assert standing("rival") == (Standing.LEADING, 1100)
    mine = my_auctions.sync_detailed(client=client("seller"), status=AuctionStatus.OPEN)
    assert auction.id in [a.id for a in ok(mine, 200, AuctionPage).items]

    # The close (the Scheduler, then the auction-closes worker) decides the standings.
    deadline = time.monotonic() + 150
    while ok(get_auction.sync_detailed(auction.id, client=anonymous()), 200, Auction).status is not AuctionStatus.CLOSED:
        assert time.monotonic() < deadline, "the auction did not close"
        time.sleep(2)
    assert standing("rival") == (Standing.WON, 1100)
    assert standing("buyer") == (Standing.LOST, 1000)
    assert ok(get_item.sync_detailed(lot.id, client=anonymous()), 200, ItemView).status is ItemStatus.SOLD
    closed = my_auctions.sync_detailed(client=client("seller"), status=AuctionStatus.CLOSED)
    assert auction.id in [a.id for a in ok(closed, 200, AuctionPage).items]


def test_account_deletion(named):
    item = new_item("leaver", "Books, a box of")
    held = ok(reserve.sync_detailed(item.id, client=client("buyer")), 201, Reservation)
    # Refused while a reservation on their item is active, naming why.
    refused = problem(delete_me.sync_detailed(client=client("leaver")), 409, "account-in-use")
    assert "reservation" in refused.detail
    ok(cancel.sync_detailed(held.id, client=client("buyer")), 200, Reservation)

    assert delete_me.sync_detailed(client=client("leaver")).status_code == 204
    # Their token is refused, their listing gone, their public profile too.
    problem(me.sync_detailed(client=client("leaver")), 401, "account-deleted")
    problem(get_item.sync_detailed(item.id, client=anonymous()), 404, "not-found")
    problem(public_profile.sync_detailed(named["leaver"], client=anonymous()), 404, "not-found")
