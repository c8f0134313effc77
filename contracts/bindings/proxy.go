// Code generated - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package bindings

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"time"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/event"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = errors.New
	_ = big.NewInt
	_ = strings.NewReader
	_ = ethereum.NotFound
	_ = bind.Bind
	_ = common.Big1
	_ = types.BloomLookup
	_ = event.NewSubscription
	_ = abi.ConvertType
	_ = time.Tick
	_ = context.Background
)

// RlnRegistryProxyMetaData contains all meta data concerning the RlnRegistryProxy contract.
var RlnRegistryProxyMetaData = &bind.MetaData{
	ABI: "[{\"inputs\":[{\"internalType\":\"address\",\"name\":\"implementation\",\"type\":\"address\"},{\"internalType\":\"bytes\",\"name\":\"data\",\"type\":\"bytes\"}],\"stateMutability\":\"payable\",\"type\":\"constructor\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"implementation\",\"type\":\"address\"}],\"name\":\"Upgraded\",\"type\":\"event\"},{\"stateMutability\":\"payable\",\"type\":\"fallback\"},{\"stateMutability\":\"payable\",\"type\":\"receive\"}]",
	Bin: "0x60806040526102e380380380610014816100d5565b92833981016040828203126100ba578151916001600160a01b03831683036100ba576020810151906001600160401b0382116100ba57019181601f840112156100ba5782519261006b610066856100ff565b6100d5565b92848452602085830101116100ba5760005b8481106100a5575050600060206100979484010152610140565b60405160bc90816102278239f35b8060208092840101518282870101520161007d565b600080fd5b634e487b7160e01b600052604160045260246000fd5b6040519190601f01601f191682016001600160401b038111838210176100fa57604052565b6100bf565b6001600160401b0381116100fa57601f01601f191660200190565b3d1561013b573d9061012e610066836100ff565b9182523d6000602084013e565b606090565b90813b156101cb577f360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc8290556001600160a01b0382167fbc7cd75a20ee27fd9adebab32041f755214dbc6bffa90cc0225b39da2e5c2d3b600080a28051806101a757505050565b6000926020849301905af46101ba61011a565b90156101c35750565b602081519101fd5b60405162461bcd60e51b815260206004820152602d60248201527f455243313936373a206e657720696d706c656d656e746174696f6e206973206e60448201526c1bdd08184818dbdb9d1c9858dd609a1b6064820152608490fdfe60806040523615604a576000807f360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc54368280378136915af43d6000803e156045573d6000f35b3d6000fd5b6000807f360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc54368280378136915af43d6000803e156045573d6000f3fea264697066735822122053c29d3c02aec852ba5a7219d55281abff9499faf982f6fde1d51accf8a6751764736f6c634300081c0033",
}

// RlnRegistryProxyABI is the input ABI used to generate the binding from.
// Deprecated: Use RlnRegistryProxyMetaData.ABI instead.
var RlnRegistryProxyABI = RlnRegistryProxyMetaData.ABI

// RlnRegistryProxyBin is the compiled bytecode used for deploying new contracts.
// Deprecated: Use RlnRegistryProxyMetaData.Bin instead.
var RlnRegistryProxyBin = RlnRegistryProxyMetaData.Bin

// DeployRlnRegistryProxy deploys a new Ethereum contract, binding an instance of RlnRegistryProxy to it.
func DeployRlnRegistryProxy(auth *bind.TransactOpts, backend bind.ContractBackend, implementation common.Address, data []byte) (common.Address, *types.Transaction, *RlnRegistryProxy, error) {
	parsed, err := RlnRegistryProxyMetaData.GetAbi()
	if err != nil {
		return common.Address{}, nil, nil, err
	}
	if parsed == nil {
		return common.Address{}, nil, nil, errors.New("GetABI returned nil")
	}

	address, tx, contract, err := bind.DeployContract(auth, *parsed, common.FromHex(RlnRegistryProxyBin), backend, implementation, data)
	if err != nil {
		return common.Address{}, nil, nil, err
	}
	return address, tx, &RlnRegistryProxy{RlnRegistryProxyCaller: RlnRegistryProxyCaller{contract: contract}, RlnRegistryProxyTransactor: RlnRegistryProxyTransactor{contract: contract}, RlnRegistryProxyFilterer: RlnRegistryProxyFilterer{contract: contract}}, nil
}

// RlnRegistryProxy is an auto generated Go binding around an Ethereum contract.
type RlnRegistryProxy struct {
	RlnRegistryProxyCaller     // Read-only binding to the contract
	RlnRegistryProxyTransactor // Write-only binding to the contract
	RlnRegistryProxyFilterer   // Log filterer for contract events
}

// RlnRegistryProxyCaller is an auto generated read-only Go binding around an Ethereum contract.
type RlnRegistryProxyCaller struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// RlnRegistryProxyTransactor is an auto generated write-only Go binding around an Ethereum contract.
type RlnRegistryProxyTransactor struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// RlnRegistryProxyFilterer is an auto generated log filtering Go binding around an Ethereum contract events.
type RlnRegistryProxyFilterer struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// RlnRegistryProxySession is an auto generated Go binding around an Ethereum contract,
// with pre-set call and transact options.
type RlnRegistryProxySession struct {
	Contract     *RlnRegistryProxy // Generic contract binding to set the session for
	CallOpts     bind.CallOpts     // Call options to use throughout this session
	TransactOpts bind.TransactOpts // Transaction auth options to use throughout this session
}

// RlnRegistryProxyCallerSession is an auto generated read-only Go binding around an Ethereum contract,
// with pre-set call options.
type RlnRegistryProxyCallerSession struct {
	Contract *RlnRegistryProxyCaller // Generic contract caller binding to set the session for
	CallOpts bind.CallOpts           // Call options to use throughout this session
}

// RlnRegistryProxyTransactorSession is an auto generated write-only Go binding around an Ethereum contract,
// with pre-set transact options.
type RlnRegistryProxyTransactorSession struct {
	Contract     *RlnRegistryProxyTransactor // Generic contract transactor binding to set the session for
	TransactOpts bind.TransactOpts           // Transaction auth options to use throughout this session
}

// RlnRegistryProxyRaw is an auto generated low-level Go binding around an Ethereum contract.
type RlnRegistryProxyRaw struct {
	Contract *RlnRegistryProxy // Generic contract binding to access the raw methods on
}

// RlnRegistryProxyCallerRaw is an auto generated low-level read-only Go binding around an Ethereum contract.
type RlnRegistryProxyCallerRaw struct {
	Contract *RlnRegistryProxyCaller // Generic read-only contract binding to access the raw methods on
}

// RlnRegistryProxyTransactorRaw is an auto generated low-level write-only Go binding around an Ethereum contract.
type RlnRegistryProxyTransactorRaw struct {
	Contract *RlnRegistryProxyTransactor // Generic write-only contract binding to access the raw methods on
}

// NewRlnRegistryProxy creates a new instance of RlnRegistryProxy, bound to a specific deployed contract.
func NewRlnRegistryProxy(address common.Address, backend bind.ContractBackend) (*RlnRegistryProxy, error) {
	contract, err := bindRlnRegistryProxy(address, backend, backend, backend)
	if err != nil {
		return nil, err
	}
	return &RlnRegistryProxy{RlnRegistryProxyCaller: RlnRegistryProxyCaller{contract: contract}, RlnRegistryProxyTransactor: RlnRegistryProxyTransactor{contract: contract}, RlnRegistryProxyFilterer: RlnRegistryProxyFilterer{contract: contract}}, nil
}

// NewRlnRegistryProxyCaller creates a new read-only instance of RlnRegistryProxy, bound to a specific deployed contract.
func NewRlnRegistryProxyCaller(address common.Address, caller bind.ContractCaller) (*RlnRegistryProxyCaller, error) {
	contract, err := bindRlnRegistryProxy(address, caller, nil, nil)
	if err != nil {
		return nil, err
	}
	return &RlnRegistryProxyCaller{contract: contract}, nil
}

// NewRlnRegistryProxyTransactor creates a new write-only instance of RlnRegistryProxy, bound to a specific deployed contract.
func NewRlnRegistryProxyTransactor(address common.Address, transactor bind.ContractTransactor) (*RlnRegistryProxyTransactor, error) {
	contract, err := bindRlnRegistryProxy(address, nil, transactor, nil)
	if err != nil {
		return nil, err
	}
	return &RlnRegistryProxyTransactor{contract: contract}, nil
}

// NewRlnRegistryProxyFilterer creates a new log filterer instance of RlnRegistryProxy, bound to a specific deployed contract.
func NewRlnRegistryProxyFilterer(address common.Address, filterer bind.ContractFilterer) (*RlnRegistryProxyFilterer, error) {
	contract, err := bindRlnRegistryProxy(address, nil, nil, filterer)
	if err != nil {
		return nil, err
	}
	return &RlnRegistryProxyFilterer{contract: contract}, nil
}

// bindRlnRegistryProxy binds a generic wrapper to an already deployed contract.
func bindRlnRegistryProxy(address common.Address, caller bind.ContractCaller, transactor bind.ContractTransactor, filterer bind.ContractFilterer) (*bind.BoundContract, error) {
	parsed, err := RlnRegistryProxyMetaData.GetAbi()
	if err != nil {
		return nil, err
	}
	return bind.NewBoundContract(address, *parsed, caller, transactor, filterer), nil
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_RlnRegistryProxy *RlnRegistryProxyRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _RlnRegistryProxy.Contract.RlnRegistryProxyCaller.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_RlnRegistryProxy *RlnRegistryProxyRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _RlnRegistryProxy.Contract.RlnRegistryProxyTransactor.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_RlnRegistryProxy *RlnRegistryProxyRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _RlnRegistryProxy.Contract.RlnRegistryProxyTransactor.contract.Transact(opts, method, params...)
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_RlnRegistryProxy *RlnRegistryProxyCallerRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _RlnRegistryProxy.Contract.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_RlnRegistryProxy *RlnRegistryProxyTransactorRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _RlnRegistryProxy.Contract.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_RlnRegistryProxy *RlnRegistryProxyTransactorRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _RlnRegistryProxy.Contract.contract.Transact(opts, method, params...)
}

// Fallback is a paid mutator transaction binding the contract fallback function.
//
// Solidity: fallback() payable returns()
func (_RlnRegistryProxy *RlnRegistryProxyTransactor) Fallback(opts *bind.TransactOpts, calldata []byte) (*types.Transaction, error) {
	return _RlnRegistryProxy.contract.RawTransact(opts, calldata)
}

// Fallback is a paid mutator transaction binding the contract fallback function.
//
// Solidity: fallback() payable returns()
func (_RlnRegistryProxy *RlnRegistryProxySession) Fallback(calldata []byte) (*types.Transaction, error) {
	return _RlnRegistryProxy.Contract.Fallback(&_RlnRegistryProxy.TransactOpts, calldata)
}

// Fallback is a paid mutator transaction binding the contract fallback function.
//
// Solidity: fallback() payable returns()
func (_RlnRegistryProxy *RlnRegistryProxyTransactorSession) Fallback(calldata []byte) (*types.Transaction, error) {
	return _RlnRegistryProxy.Contract.Fallback(&_RlnRegistryProxy.TransactOpts, calldata)
}

// Receive is a paid mutator transaction binding the contract receive function.
//
// Solidity: receive() payable returns()
func (_RlnRegistryProxy *RlnRegistryProxyTransactor) Receive(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _RlnRegistryProxy.contract.RawTransact(opts, nil) // calldata is disallowed for receive function
}

// Receive is a paid mutator transaction binding the contract receive function.
//
// Solidity: receive() payable returns()
func (_RlnRegistryProxy *RlnRegistryProxySession) Receive() (*types.Transaction, error) {
	return _RlnRegistryProxy.Contract.Receive(&_RlnRegistryProxy.TransactOpts)
}

// Receive is a paid mutator transaction binding the contract receive function.
//
// Solidity: receive() payable returns()
func (_RlnRegistryProxy *RlnRegistryProxyTransactorSession) Receive() (*types.Transaction, error) {
	return _RlnRegistryProxy.Contract.Receive(&_RlnRegistryProxy.TransactOpts)
}

// RlnRegistryProxyUpgradedIterator is returned from FilterUpgraded and is used to iterate over the raw logs and unpacked data for Upgraded events raised by the RlnRegistryProxy contract.
type RlnRegistryProxyUpgradedIterator struct {
	Event *RlnRegistryProxyUpgraded // Event containing the contract specifics and raw log

	contract *bind.BoundContract // Generic contract to use for unpacking event data
	event    string              // Event name to use for unpacking event data

	logs chan types.Log        // Log channel receiving the found contract events
	sub  ethereum.Subscription // Subscription for errors, completion and termination
	done bool                  // Whether the subscription completed delivering logs
	fail error                 // Occurred error to stop iteration
}

// Next advances the iterator to the subsequent event, returning whether there
// are any more events found. In case of a retrieval or parsing error, false is
// returned and Error() can be queried for the exact failure.
func (it *RlnRegistryProxyUpgradedIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(RlnRegistryProxyUpgraded)
			if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
				it.fail = err
				return false
			}
			it.Event.Raw = log
			return true

		default:
			return false
		}
	}
	// Iterator still in progress, wait for either a data or an error event
	select {
	case log := <-it.logs:
		it.Event = new(RlnRegistryProxyUpgraded)
		if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
			it.fail = err
			return false
		}
		it.Event.Raw = log
		return true

	case err := <-it.sub.Err():
		it.done = true
		it.fail = err
		return it.Next()
	}
}

// Error returns any retrieval or parsing error occurred during filtering.
func (it *RlnRegistryProxyUpgradedIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *RlnRegistryProxyUpgradedIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// RlnRegistryProxyUpgraded represents a Upgraded event raised by the RlnRegistryProxy contract.
type RlnRegistryProxyUpgraded struct {
	Implementation common.Address
	Raw            types.Log // Blockchain specific contextual infos
}

// FilterUpgraded is a free log retrieval operation binding the contract event 0xbc7cd75a20ee27fd9adebab32041f755214dbc6bffa90cc0225b39da2e5c2d3b.
//
// Solidity: event Upgraded(address indexed implementation)
func (_RlnRegistryProxy *RlnRegistryProxyFilterer) FilterUpgraded(opts *bind.FilterOpts, implementation []common.Address) (*RlnRegistryProxyUpgradedIterator, error) {

	var implementationRule []interface{}
	for _, implementationItem := range implementation {
		implementationRule = append(implementationRule, implementationItem)
	}

	logs, sub, err := _RlnRegistryProxy.contract.FilterLogs(opts, "Upgraded", implementationRule)
	if err != nil {
		return nil, err
	}
	return &RlnRegistryProxyUpgradedIterator{contract: _RlnRegistryProxy.contract, event: "Upgraded", logs: logs, sub: sub}, nil
}

// WatchUpgraded is a free log subscription operation binding the contract event 0xbc7cd75a20ee27fd9adebab32041f755214dbc6bffa90cc0225b39da2e5c2d3b.
//
// Solidity: event Upgraded(address indexed implementation)
func (_RlnRegistryProxy *RlnRegistryProxyFilterer) WatchUpgraded(opts *bind.WatchOpts, sink chan<- *RlnRegistryProxyUpgraded, implementation []common.Address) (event.Subscription, error) {

	var implementationRule []interface{}
	for _, implementationItem := range implementation {
		implementationRule = append(implementationRule, implementationItem)
	}

	logs, sub, err := _RlnRegistryProxy.contract.WatchLogs(opts, "Upgraded", implementationRule)
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(RlnRegistryProxyUpgraded)
				if err := _RlnRegistryProxy.contract.UnpackLog(event, "Upgraded", log); err != nil {
					// If the signature doesn't match, skip this log.
					if errors.Is(err, bind.ErrEventSignatureMismatch) {
						continue
					}
					return err
				}
				event.Raw = log

				select {
				case sink <- event:
				case err := <-sub.Err():
					return err
				case <-quit:
					return nil
				}
			case err := <-sub.Err():
				return err
			case <-quit:
				return nil
			}
		}
	}), nil
}

// ParseUpgraded is a log parse operation binding the contract event 0xbc7cd75a20ee27fd9adebab32041f755214dbc6bffa90cc0225b39da2e5c2d3b.
//
// Solidity: event Upgraded(address indexed implementation)
func (_RlnRegistryProxy *RlnRegistryProxyFilterer) ParseUpgraded(log types.Log) (*RlnRegistryProxyUpgraded, error) {
	event := new(RlnRegistryProxyUpgraded)
	if err := _RlnRegistryProxy.contract.UnpackLog(event, "Upgraded", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}
